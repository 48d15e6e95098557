//! Screening one name against 20,000 listed entries: the budget is 1 ms (issue 18).
//!
//! The list is synthetic but shaped like OFAC's: about four individuals to one entity, up
//! to three aliases each, and names drawn with a skew so that a few words (`muhammad`,
//! `jose`, `rodriguez`) are in hundreds of names, as on the real list. Run with
//! `cargo bench -p cajero-domain --bench sanctions`.

use std::hint::black_box;

use cajero_domain::sanctions::{
    DEFAULT_THRESHOLD, Entry, EntryKind, List, ListVersion, Source, SourceList,
};
use criterion::{Criterion, criterion_group, criterion_main};

/// Entries in the benchmark's list: OFAC's SDN list has about 18,000.
const ENTRIES: usize = 20_000;

#[rustfmt::skip]
const GIVEN: &[&str] = &[
    "Muhammad", "Jose", "Juan", "Ali", "Ahmad", "Carlos", "Luis", "Abdul",
    "Maria", "Miguel", "Hassan", "Jorge", "Omar", "Ivan", "Sergei", "Wei", "Li", "Hussein",
    "Ibrahim", "Khalid", "Andres", "Pedro", "Rafael", "Fernando", "Victor", "Alexander",
    "Dmitry", "Yusuf", "Mahmoud", "Francisco", "Antonio", "Manuel", "Javier", "Ricardo",
    "Roberto", "Eduardo", "Alejandro", "Diego", "Pablo", "Oscar", "Hector", "Raul", "Sergio",
    "Mario", "Gilberto", "Helmer", "Olmes", "Nubia", "Adiela", "Stella", "Giselle", "Diana",
    "Paola", "Luz", "Mery", "Gloria", "Yusleidy", "Diosdado", "Tareck", "Nicolas", "Xuekang",
    "Fujing", "Guanghua", "Jian", "Ming", "Hong", "Jun", "Tao", "Yong", "Qiang", "Vladimir",
    "Mikhail", "Nikolai", "Andrei", "Oleg", "Yevgeny", "Arkady", "Boris", "Igor", "Anatoly",
    "Hamid", "Reza", "Mohsen", "Saeed", "Abbas", "Mustafa", "Said", "Tariq", "Faisal", "Nasser",
    "Salim", "Fuad", "Ayman", "Usama", "Osiel", "Joaquin", "Ismael", "Amado", "Vicente",
    "Benjamin",
];

#[rustfmt::skip]
const SURNAMES: &[&str] = &[
    "Rodriguez", "Gomez", "Lopez", "Hernandez", "Martinez", "Garcia", "Perez",
    "Sanchez", "Ramirez", "Torres", "Al Masri", "Al Zawahiri", "Bin Ladin", "Hussein", "Khan",
    "Ivanov", "Petrov", "Sidorov", "Smirnov", "Kuznetsov", "Wang", "Zhang", "Liu", "Chen",
    "Yang", "Zheng", "Huang", "Zhao", "Orejuela", "Buitrago", "Herrera", "Londono", "Santacruz",
    "Caviedes", "Cruz", "Noriega", "Guzman", "Loera", "Cardenas", "Guillen", "Caro", "Quintero",
    "Carrillo", "Fuentes", "Arellano", "Felix", "Maduro", "Moros", "Cabello", "Rondon",
    "Aissami", "Maddah", "Escobar", "Gaviria", "Ochoa", "Vasquez", "Castano", "Mancuso",
    "Restrepo", "Mejia", "Castillo", "Vargas", "Rojas", "Moreno", "Jimenez", "Diaz", "Ortiz",
    "Munoz", "Rios", "Suarez", "Castro", "Salazar", "Pineda", "Arango", "Berrio", "Lopera",
    "Ibanez", "Galindo", "Giraldo", "Sarria", "Libreros", "Lindo", "Linares", "Monroy",
    "Arcila", "Amezquita", "Meneses", "Angulo", "Orobio", "Arboleda", "Romero", "Abril",
    "Cortez", "Cuartes", "Morales", "Larranaga", "Calvache", "Hurtado", "Karimi", "Hosseini",
    "Rahimi", "Tehrani", "Abadi", "Nasrallah", "Haddad", "Khoury", "Saleh", "Mansour",
    "Darwish", "Awad", "Shalah", "Marzouk", "Jibril", "Hawatmeh",
];

#[rustfmt::skip]
const COMPANY_WORDS: &[&str] = &[
    "Inversiones", "Comercial", "Trading", "Shipping", "International",
    "Holding", "Group", "Import", "Export", "Petroleum", "Energy", "Logistics", "Maritime",
    "Industrial", "Bank", "Exchange", "Services", "Technology", "Construction", "Agropecuaria",
    "Distribuidora", "Farmaceutica", "Transportes", "Constructora", "Inmobiliaria", "Pacific",
    "Atlantic", "Golden", "Star", "Eagle", "Global", "United", "Oriental", "Caribe", "Andina",
    "Valle", "Cali", "Bogota", "Caracas", "Tehran", "Dubai", "Hong Kong", "Moscow", "Minsk",
    "Damascus",
];

const COMPANY_FORMS: &[&str] = &["S.A.", "LTDA.", "LLC", "LTD.", "S.A.S.", "C.A.", "", ""];

/// SplitMix64: a fixed, seedable sequence, so every run benches the same list.
struct Sequence(u64);

impl Sequence {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// An element of `words`, the first ones far more often (the square of a uniform draw).
    fn skewed<'w>(&mut self, words: &[&'w str]) -> &'w str {
        let uniform = (self.next() % 1_000_000) as usize;
        let index = uniform * uniform / 1_000_000 * words.len() / 1_000_000;
        words[index.min(words.len() - 1)]
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn person(sequence: &mut Sequence) -> String {
    let surnames = format!(
        "{} {}",
        sequence.skewed(SURNAMES).to_uppercase(),
        sequence.skewed(SURNAMES).to_uppercase()
    );
    let given = if sequence.below(2) == 0 {
        sequence.skewed(GIVEN).to_owned()
    } else {
        format!("{} {}", sequence.skewed(GIVEN), sequence.skewed(GIVEN))
    };
    format!("{surnames}, {given}")
}

fn company(sequence: &mut Sequence) -> String {
    let words: Vec<&str> = (0..2 + sequence.below(3))
        .map(|_| sequence.skewed(COMPANY_WORDS))
        .collect();
    let form = COMPANY_FORMS[sequence.below(COMPANY_FORMS.len() as u64) as usize];
    format!("{} {form}", words.join(" ").to_uppercase())
}

fn synthetic_list(entries: usize) -> List {
    let mut sequence = Sequence(18);
    let entries = (0..entries)
        .map(|i| {
            let individual = sequence.below(5) != 0;
            let make = |sequence: &mut Sequence| {
                if individual {
                    person(sequence)
                } else {
                    company(sequence)
                }
            };
            let names = (0..1 + sequence.below(4))
                .map(|_| make(&mut sequence))
                .collect();
            Entry {
                uid: (10_000 + i).to_string(),
                source: Source::Ofac,
                kind: if individual {
                    EntryKind::Individual
                } else {
                    EntryKind::Entity
                },
                names,
                programs: vec!["SDNT".to_owned()],
                reference: None,
                remarks: None,
            }
        })
        .collect();
    List::new([SourceList {
        version: ListVersion {
            source: Source::Ofac,
            published: None,
            files: vec![],
        },
        entries,
    }])
}

fn screening(c: &mut Criterion) {
    let list = synthetic_list(ENTRIES);
    let listed = list.entries()[ENTRIES / 2].names[0].clone();
    let names = [
        ("listed name", listed.as_str()),
        ("common name, no hit", "Juan Carlos Rodríguez López"),
        ("misspelt common name", "Muhamad Ali Al-Masri Husein"),
        ("Chinese name", "Zheng Fu Jing"),
        ("company", "Inversiones y Transportes del Valle S.A.S."),
    ];
    let mut group = c.benchmark_group("screen one name against 20,000 entries");
    for (label, name) in names {
        group.bench_function(label, |b| {
            b.iter(|| list.screen(black_box(name), DEFAULT_THRESHOLD))
        });
    }
    group.finish();
    let mut build = c.benchmark_group("index 20,000 entries");
    build.sample_size(10);
    build.bench_function("List::new", |b| {
        b.iter(|| synthetic_list(black_box(ENTRIES)))
    });
    build.finish();
}

criterion_group!(benches, screening);
criterion_main!(benches);
