//! Everything the pages say, in Spanish (Colombia) and English. Fixed labels live in
//! [`Texts`]; sentences with values in them are functions, so word order can differ.

use crate::Lang;

/// Fixed labels of the pages.
#[derive(Debug)]
pub(crate) struct Texts {
    pub other_lang_href: &'static str,
    pub other_lang_tag: &'static str,
    pub other_lang_label: &'static str,
    pub voucher_heading: &'static str,
    pub voucher_key_heading: &'static str,
    pub amount_label: &'static str,
    pub code_label: &'static str,
    pub qr_caption: &'static str,
    pub steps_heading: &'static str,
    pub details_heading: &'static str,
    pub merchant_label: &'static str,
    pub reference_label: &'static str,
    pub counters_heading: &'static str,
    pub extended_hours: &'static str,
    pub print_hint: &'static str,
    pub pdf_link: &'static str,
    pub pickup_heading: &'static str,
    pub pickup_key_heading: &'static str,
    pub pickup_amount_label: &'static str,
    pub pickup_code_label: &'static str,
    pub bring_heading: &'static str,
    pub pickup_steps_heading: &'static str,
    pub code_secret: &'static str,
    pub qr_name: &'static str,
}

const ES: Texts = Texts {
    other_lang_href: "?lang=en",
    other_lang_tag: "en",
    other_lang_label: "English",
    voucher_heading: "Recibo para pagar en efectivo",
    voucher_key_heading: "Datos para pagar",
    amount_label: "Valor a pagar",
    code_label: "Código de pago",
    qr_caption: "Abre este recibo en tu celular",
    steps_heading: "Cómo pagar",
    details_heading: "Detalles",
    merchant_label: "Comercio",
    reference_label: "Referencia",
    counters_heading: "Puntos cercanos",
    extended_hours: "Horario extendido",
    print_hint: "Puedes imprimir esta página o mostrarla en tu celular.",
    pdf_link: "Descargar PDF",
    pickup_heading: "Tienes un giro para cobrar en efectivo",
    pickup_key_heading: "Datos para cobrar",
    pickup_amount_label: "Valor a recibir",
    pickup_code_label: "Código de retiro",
    bring_heading: "Qué debes llevar",
    pickup_steps_heading: "Cómo cobrar",
    code_secret: "No compartas este código con nadie. Solo tú puedes cobrar este giro, \
                  presentando tu documento original.",
    qr_name: "Código QR con el enlace a este recibo",
};

const EN: Texts = Texts {
    other_lang_href: "?lang=es",
    other_lang_tag: "es",
    other_lang_label: "Español",
    voucher_heading: "Cash payment voucher",
    voucher_key_heading: "Payment details",
    amount_label: "Amount to pay",
    code_label: "Payment code",
    qr_caption: "Open this voucher on your phone",
    steps_heading: "How to pay",
    details_heading: "Details",
    merchant_label: "Merchant",
    reference_label: "Reference",
    counters_heading: "Nearby locations",
    extended_hours: "Extended hours",
    print_hint: "You can print this page or show it on your phone.",
    pdf_link: "Download PDF",
    pickup_heading: "You have money to collect in cash",
    pickup_key_heading: "Collection details",
    pickup_amount_label: "Amount to collect",
    pickup_code_label: "Pick-up code",
    bring_heading: "What to bring",
    pickup_steps_heading: "How to collect",
    code_secret: "Do not share this code with anyone. Only you can collect this money, \
                  with your original ID document.",
    qr_name: "QR code linking to this voucher",
};

pub(crate) fn texts(lang: Lang) -> &'static Texts {
    match lang {
        Lang::Es => &ES,
        Lang::En => &EN,
    }
}

/// "Convenio 111571": cashiers ask for the convenio by that word, so English keeps it.
pub(crate) fn agreement(lang: Lang, code: &str) -> String {
    match lang {
        Lang::Es => format!("Convenio {code}"),
        Lang::En => format!("Convenio (agreement) {code}"),
    }
}

pub(crate) fn voucher_expiry(lang: Lang, date: &str, time: &str) -> String {
    match lang {
        Lang::Es => format!("Este recibo vence el {date} a las {time} (hora de Colombia)."),
        Lang::En => format!("This voucher expires on {date} at {time} (Colombia time)."),
    }
}

/// The small print at the foot of the PDF.
pub(crate) fn pdf_footer(lang: Lang, merchant: &str) -> String {
    match lang {
        Lang::Es => format!(
            "Este recibo no es una factura. Si tienes dudas sobre tu compra, comunícate con {merchant}."
        ),
        Lang::En => format!(
            "This voucher is not an invoice. For questions about your purchase, contact {merchant}."
        ),
    }
}

/// Values a sentence may quote.
#[derive(Debug)]
pub(crate) struct Facts<'a> {
    pub network: &'a str,
    pub agreement: &'a str,
    pub code: &'a str,
    pub amount: &'a str,
    pub merchant: &'a str,
}

/// How to pay; `has_barcode` adds "or show the barcode" to the second step.
pub(crate) fn voucher_steps(lang: Lang, has_barcode: bool, f: &Facts<'_>) -> Vec<String> {
    let (es_barcode, en_barcode) = if has_barcode {
        (
            ", o muéstrale el código de barras",
            ", or show them the barcode",
        )
    } else {
        ("", "")
    };
    match lang {
        Lang::Es => vec![
            format!(
                "Acércate a cualquier punto {} con este recibo, impreso o en tu celular, \
                 antes de que venza.",
                f.network
            ),
            format!(
                "Dile al cajero que vas a pagar al convenio {} con el código de pago {}{es_barcode}.",
                f.agreement, f.code
            ),
            format!("Paga {} en efectivo. El valor debe ser exacto.", f.amount),
            format!(
                "Guarda el comprobante que te entregan. {} recibe la confirmación de tu pago \
                 automáticamente.",
                f.merchant
            ),
        ],
        Lang::En => vec![
            format!(
                "Go to any {} location with this voucher, printed or on your phone, before \
                 it expires.",
                f.network
            ),
            format!(
                "Tell the cashier you are paying to convenio (agreement) {} with payment code \
                 {}{en_barcode}.",
                f.agreement, f.code
            ),
            format!("Pay {} in cash. The amount must be exact.", f.amount),
            format!(
                "Keep the receipt you are given. {} is notified of your payment automatically.",
                f.merchant
            ),
        ],
    }
}

/// The name of an identity document, as the beneficiary would call it.
pub(crate) fn document_name(lang: Lang, code: &str) -> String {
    let (es, en) = match code {
        "CC" => (
            "cédula de ciudadanía",
            "Colombian citizenship card (cédula de ciudadanía)",
        ),
        "CE" => (
            "cédula de extranjería",
            "foreigner ID card (cédula de extranjería)",
        ),
        "TI" => (
            "tarjeta de identidad",
            "identity card (tarjeta de identidad)",
        ),
        "PA" => ("pasaporte", "passport"),
        "PPT" => (
            "Permiso por Protección Temporal (PPT)",
            "Temporary Protection Permit (PPT)",
        ),
        "PEP" => (
            "Permiso Especial de Permanencia (PEP)",
            "Special Stay Permit (PEP)",
        ),
        "NIT" => (
            "documento de identidad del representante del NIT",
            "ID document of the NIT's representative",
        ),
        other => (other, other),
    };
    match lang {
        Lang::Es => es.to_owned(),
        Lang::En => en.to_owned(),
    }
}

pub(crate) fn pickup_greeting(lang: Lang, first_name: &str, merchant: &str) -> String {
    match lang {
        Lang::Es => {
            format!("Hola, {first_name}. {merchant} te envió dinero para cobrar en efectivo.")
        }
        Lang::En => format!("Hello {first_name}. {merchant} sent you money to collect in cash."),
    }
}

pub(crate) fn pickup_expiry(lang: Lang, date: &str, time: &str) -> String {
    match lang {
        Lang::Es => format!("Puedes cobrarlo hasta el {date} a las {time} (hora de Colombia)."),
        Lang::En => format!("You can collect it until {date} at {time} (Colombia time)."),
    }
}

pub(crate) fn pickup_bring(lang: Lang, document: &str, hint: Option<&str>) -> Vec<String> {
    match lang {
        Lang::Es => vec![
            match hint {
                Some(h) => format!("Tu {document} original (número terminado en {h})."),
                None => format!("Tu {document} original."),
            },
            "No se aceptan fotocopias, fotos del documento ni denuncios de pérdida.".to_owned(),
            "El código de retiro de esta página.".to_owned(),
        ],
        Lang::En => vec![
            match hint {
                Some(h) => format!("Your original {document} (number ending in {h})."),
                None => format!("Your original {document}."),
            },
            "Photocopies, photos of the document and loss reports are not accepted.".to_owned(),
            "The pick-up code on this page.".to_owned(),
        ],
    }
}

pub(crate) fn pickup_steps(lang: Lang, f: &Facts<'_>, document: &str) -> Vec<String> {
    match lang {
        Lang::Es => vec![
            format!(
                "Ve a cualquier punto {} antes de la fecha límite.",
                f.network
            ),
            format!(
                "Dile al cajero que vas a cobrar un giro y dale el código de retiro {}.",
                f.code
            ),
            format!(
                "Presenta tu {document} original. El cajero verifica tu nombre, tu número y tu foto."
            ),
            format!("Recibe {} en efectivo y cuéntalo antes de irte.", f.amount),
        ],
        Lang::En => vec![
            format!("Go to any {} location before the deadline.", f.network),
            format!(
                "Tell the cashier you are collecting a money transfer (giro) and give them \
                 pick-up code {}.",
                f.code
            ),
            format!(
                "Show your original {document}. The cashier checks your name, number and photo."
            ),
            format!(
                "Receive {} in cash and count it before you leave.",
                f.amount
            ),
        ],
    }
}

/// A page that says where things stand instead of showing a code.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Notice<'a> {
    VoucherPaid,
    VoucherExpired { merchant: &'a str },
    VoucherCanceled { merchant: &'a str },
    PickupPending,
    PickupPaid,
    PickupExpired { merchant: &'a str },
    PickupCanceled { merchant: &'a str },
    PickupFailed { merchant: &'a str },
    PickupOnHold { merchant: &'a str },
    NotFound,
}

/// How a notice looks: good news, a warning, or neutral.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tone {
    Ok,
    Warn,
    Neutral,
}

impl Tone {
    pub(crate) fn class(self) -> &'static str {
        match self {
            Tone::Ok => "ok",
            Tone::Warn => "warn",
            Tone::Neutral => "neutral",
        }
    }
}

/// (heading, message, tone) of a notice.
pub(crate) fn notice(lang: Lang, notice: Notice<'_>) -> (String, String, Tone) {
    use Notice as N;
    let (heading, message, tone) = match (lang, notice) {
        (Lang::Es, N::VoucherPaid) => (
            "Pago recibido",
            "Este recibo ya fue pagado. No lo pagues otra vez.".to_owned(),
            Tone::Ok,
        ),
        (Lang::En, N::VoucherPaid) => (
            "Payment received",
            "This voucher has already been paid. Do not pay it again.".to_owned(),
            Tone::Ok,
        ),
        (Lang::Es, N::VoucherExpired { merchant }) => (
            "Este recibo venció",
            format!("Ya no se puede pagar. Si todavía quieres pagar, pide un recibo nuevo a {merchant}."),
            Tone::Warn,
        ),
        (Lang::En, N::VoucherExpired { merchant }) => (
            "This voucher has expired",
            format!("It can no longer be paid. If you still want to pay, ask {merchant} for a new one."),
            Tone::Warn,
        ),
        (Lang::Es, N::VoucherCanceled { merchant }) => (
            "Este recibo fue anulado",
            format!("No lo pagues. Si tienes dudas, comunícate con {merchant}."),
            Tone::Warn,
        ),
        (Lang::En, N::VoucherCanceled { merchant }) => (
            "This voucher was canceled",
            format!("Do not pay it. If in doubt, contact {merchant}."),
            Tone::Warn,
        ),
        (Lang::Es, N::PickupPending) => (
            "Estamos preparando tu giro",
            "El código de retiro todavía no está listo. Vuelve a abrir este enlace en unos minutos.".to_owned(),
            Tone::Neutral,
        ),
        (Lang::En, N::PickupPending) => (
            "Your money is on its way",
            "The pick-up code is not ready yet. Open this link again in a few minutes.".to_owned(),
            Tone::Neutral,
        ),
        (Lang::Es, N::PickupPaid) => (
            "Giro cobrado",
            "Este giro ya fue cobrado.".to_owned(),
            Tone::Ok,
        ),
        (Lang::En, N::PickupPaid) => (
            "Already collected",
            "This money has already been collected.".to_owned(),
            Tone::Ok,
        ),
        (Lang::Es, N::PickupExpired { merchant }) => (
            "Este giro venció",
            format!("Ya no se puede cobrar. Comunícate con {merchant}."),
            Tone::Warn,
        ),
        (Lang::En, N::PickupExpired { merchant }) => (
            "This pick-up has expired",
            format!("It can no longer be collected. Please contact {merchant}."),
            Tone::Warn,
        ),
        (Lang::Es, N::PickupCanceled { merchant }) => (
            "Este giro fue anulado",
            format!("Ya no se puede cobrar. Comunícate con {merchant}."),
            Tone::Warn,
        ),
        (Lang::En, N::PickupCanceled { merchant }) => (
            "This pick-up was canceled",
            format!("It can no longer be collected. Please contact {merchant}."),
            Tone::Warn,
        ),
        (Lang::Es, N::PickupFailed { merchant }) => (
            "Este giro no está disponible",
            format!("No se puede cobrar. Comunícate con {merchant}."),
            Tone::Warn,
        ),
        (Lang::En, N::PickupFailed { merchant }) => (
            "This pick-up is not available",
            format!("It cannot be collected. Please contact {merchant}."),
            Tone::Warn,
        ),
        (Lang::Es, N::PickupOnHold { merchant }) => (
            "Tu giro está en revisión",
            format!("Todavía no se puede cobrar. Si tienes dudas, comunícate con {merchant}."),
            Tone::Neutral,
        ),
        (Lang::En, N::PickupOnHold { merchant }) => (
            "Your pick-up is under review",
            format!("It cannot be collected yet. If in doubt, contact {merchant}."),
            Tone::Neutral,
        ),
        (Lang::Es, N::NotFound) => (
            "No encontramos esta página",
            "El enlace no es válido o ya no está disponible. Revísalo o pide uno nuevo a quien te lo envió.".to_owned(),
            Tone::Neutral,
        ),
        (Lang::En, N::NotFound) => (
            "Page not found",
            "The link is not valid or no longer available. Check it, or ask whoever sent it for a new one.".to_owned(),
            Tone::Neutral,
        ),
    };
    (heading.to_owned(), message, tone)
}
