//! Know your customer: a merchant's onboarding application and its review.
//!
//! States: `draft → submitted → in_review → approved | rejected | needs_info`, and
//! `needs_info → submitted` again when the merchant answers. Only an approved merchant may move
//! live cash. The application is checked whole: [`Application::problems`] lists every problem
//! (field path and what is wrong), so a form shows them all at once.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::dane;
use crate::document::{Document, DocumentType};

/// Where an application stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KycStatus {
    /// Being filled in by the merchant.
    Draft,
    /// Sent for review.
    Submitted,
    /// An operator is reviewing it.
    InReview,
    /// Approved: the merchant may use live mode.
    Approved,
    /// Refused (final).
    Rejected,
    /// Back with the operator's questions; the merchant answers and submits again.
    NeedsInfo,
}

impl KycStatus {
    /// Every status.
    pub const ALL: [KycStatus; 6] = [
        KycStatus::Draft,
        KycStatus::Submitted,
        KycStatus::InReview,
        KycStatus::Approved,
        KycStatus::Rejected,
        KycStatus::NeedsInfo,
    ];

    /// The stored and shown code.
    pub const fn as_str(self) -> &'static str {
        match self {
            KycStatus::Draft => "draft",
            KycStatus::Submitted => "submitted",
            KycStatus::InReview => "in_review",
            KycStatus::Approved => "approved",
            KycStatus::Rejected => "rejected",
            KycStatus::NeedsInfo => "needs_info",
        }
    }

    /// True while the merchant may change the application.
    pub const fn editable(self) -> bool {
        matches!(self, KycStatus::Draft | KycStatus::NeedsInfo)
    }
}

impl fmt::Display for KycStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for KycStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        KycStatus::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown KYC status {s:?}"))
    }
}

/// What someone does to an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KycAction {
    /// The merchant sends it (first time, or with the answers asked for).
    Submit,
    /// An operator takes it.
    StartReview,
    /// An operator approves it.
    Approve,
    /// An operator refuses it.
    Reject,
    /// An operator sends it back with questions.
    RequestInfo,
}

impl KycAction {
    /// The action's name in messages and the audit log.
    pub const fn as_str(self) -> &'static str {
        match self {
            KycAction::Submit => "submit",
            KycAction::StartReview => "start_review",
            KycAction::Approve => "approve",
            KycAction::Reject => "reject",
            KycAction::RequestInfo => "request_info",
        }
    }
}

/// An action the application's status does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a KYC application that is {from} cannot {}", action.as_str())]
pub struct KycTransitionError {
    /// Where it stood.
    pub from: KycStatus,
    /// What was tried.
    pub action: KycAction,
}

/// The status `action` leads to from `from`.
pub fn next(from: KycStatus, action: KycAction) -> Result<KycStatus, KycTransitionError> {
    use KycAction as A;
    use KycStatus as S;
    match (from, action) {
        (S::Draft | S::NeedsInfo, A::Submit) => Ok(S::Submitted),
        (S::Submitted, A::StartReview) => Ok(S::InReview),
        (S::Submitted | S::InReview, A::Approve) => Ok(S::Approved),
        (S::Submitted | S::InReview, A::Reject) => Ok(S::Rejected),
        (S::Submitted | S::InReview, A::RequestInfo) => Ok(S::NeedsInfo),
        _ => Err(KycTransitionError { from, action }),
    }
}

/// Company types the application accepts (Colombian forms of company).
pub const COMPANY_TYPES: [&str; 7] = ["sas", "sa", "ltda", "sca", "scs", "eu", "persona_natural"];
/// Smallest share that makes an ultimate beneficial owner: 25 %, in basis points.
pub const UBO_SHARE_MIN_BPS: u32 = 2_500;
/// Longest free text of a field.
pub const TEXT_CHARS_MAX: usize = 200;
/// Most beneficial owners listed (four at 25 % make 100 %).
pub const OWNERS_MAX: usize = 4;

/// A person named in an application.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Person {
    /// Full name as on the document.
    pub name: String,
    /// CC, CE, PA, PPT, …
    pub document_type: String,
    /// The number.
    pub document_number: String,
    /// ISO 3166-1 alpha-2 (CO, VE, CN, …).
    pub nationality: String,
    /// For owners: the share of the company, in basis points (2,500 = 25 %).
    pub share_bps: Option<u32>,
}

/// What the merchant tells about itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Application {
    /// Razón social.
    pub legal_name: String,
    /// NIT with its check digit (`900123456-8`).
    pub nit: String,
    /// One of [`COMPANY_TYPES`].
    pub company_type: String,
    /// Street address.
    pub address: String,
    /// DANE DIVIPOLA code of the municipality (`11001` Bogotá, `05001` Medellín): 5 digits, on
    /// DANE's list (see [`crate::dane`]).
    pub municipality: String,
    /// The legal representative.
    pub representative: Person,
    /// Ultimate beneficial owners (each ≥ 25 %).
    pub owners: Vec<Person>,
    /// Expected pay-in volume per month, whole pesos.
    pub monthly_payins_cop: i64,
    /// Expected average pay-in, whole pesos.
    pub average_payin_cop: i64,
    /// Expected payout volume per month, whole pesos.
    pub monthly_payouts_cop: i64,
    /// Expected average payout, whole pesos.
    pub average_payout_cop: i64,
    /// What the business does.
    pub activity: String,
    /// Its website (`https://…`), if any.
    pub website: String,
}

/// One problem of an application: the field (dotted path) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// `nit`, `owners.1.share_bps`, …
    pub field: String,
    /// For people.
    pub message: String,
}

impl Application {
    /// Every problem that keeps it from being submitted; empty when it is complete.
    pub fn problems(&self) -> Vec<Problem> {
        let mut p = Problems::default();
        p.text("legal_name", &self.legal_name);
        if let Err(e) = Document::parse(DocumentType::Nit, &self.nit) {
            p.add("nit", format!("not a valid NIT: {e}"));
        }
        if !COMPANY_TYPES.contains(&self.company_type.as_str()) {
            p.add(
                "company_type",
                format!("must be one of {}", COMPANY_TYPES.join(", ")),
            );
        }
        p.text("address", &self.address);
        p.municipality("municipality", &self.municipality);
        p.person("representative", &self.representative, false);
        if self.owners.len() > OWNERS_MAX {
            p.add(
                "owners",
                format!("at most {OWNERS_MAX} owners hold 25 % or more"),
            );
        }
        let mut total: u32 = 0;
        for (i, owner) in self.owners.iter().enumerate() {
            p.person(&format!("owners.{i}"), owner, true);
            total = total.saturating_add(owner.share_bps.unwrap_or(0));
        }
        if total > 10_000 {
            p.add(
                "owners",
                "the owners' shares add up to more than 100 %".into(),
            );
        }
        for (field, value) in [
            ("monthly_payins_cop", self.monthly_payins_cop),
            ("average_payin_cop", self.average_payin_cop),
            ("monthly_payouts_cop", self.monthly_payouts_cop),
            ("average_payout_cop", self.average_payout_cop),
        ] {
            if value < 0 {
                p.add(field, "must be zero or more whole pesos".into());
            }
        }
        if self.average_payin_cop > self.monthly_payins_cop && self.monthly_payins_cop > 0 {
            p.add(
                "average_payin_cop",
                "cannot be more than the monthly volume".into(),
            );
        }
        if self.average_payout_cop > self.monthly_payouts_cop && self.monthly_payouts_cop > 0 {
            p.add(
                "average_payout_cop",
                "cannot be more than the monthly volume".into(),
            );
        }
        if self.monthly_payins_cop == 0 && self.monthly_payouts_cop == 0 {
            p.add(
                "monthly_payins_cop",
                "tell the volume you expect (pay-ins, payouts or both)".into(),
            );
        }
        p.text("activity", &self.activity);
        let site = &self.website;
        if !(site.is_empty() || site.starts_with("https://") || site.starts_with("http://")) {
            p.add("website", "must start with https://".into());
        }
        p.0
    }
}

#[derive(Default)]
struct Problems(Vec<Problem>);

impl Problems {
    fn add(&mut self, field: &str, message: String) {
        self.0.push(Problem {
            field: field.to_owned(),
            message,
        });
    }

    fn text(&mut self, field: &str, value: &str) {
        let n = value.trim().chars().count();
        if n == 0 {
            self.add(field, "is required".into());
        } else if n > TEXT_CHARS_MAX || value.chars().any(char::is_control) {
            self.add(
                field,
                format!("must be 1 to {TEXT_CHARS_MAX} characters, without control characters"),
            );
        }
    }

    /// A DANE DIVIPOLA code: 5 digits, and on DANE's list (`11002` has the form of one, but no
    /// municipality has it).
    fn municipality(&mut self, field: &str, code: &str) {
        if !(code.len() == 5 && code.bytes().all(|b| b.is_ascii_digit())) {
            self.add(
                field,
                "must be the municipality's 5-digit DANE code (11001 for Bogotá)".into(),
            );
        } else if dane::municipality(code).is_none() {
            self.add(
                field,
                "is not a DANE municipality code (11001 for Bogotá)".into(),
            );
        }
    }

    fn person(&mut self, path: &str, person: &Person, owner: bool) {
        self.text(&format!("{path}.name"), &person.name);
        match person.document_type.parse::<DocumentType>() {
            Ok(kind) => {
                if let Err(e) = Document::parse(kind, &person.document_number) {
                    self.add(&format!("{path}.document_number"), e.to_string());
                }
            }
            Err(e) => self.add(&format!("{path}.document_type"), e.to_string()),
        }
        let n = &person.nationality;
        if !(n.len() == 2 && n.bytes().all(|b| b.is_ascii_uppercase())) {
            self.add(
                &format!("{path}.nationality"),
                "must be a 2-letter country code (CO, VE, CN, …)".into(),
            );
        }
        if owner {
            match person.share_bps {
                Some(s) if (UBO_SHARE_MIN_BPS..=10_000).contains(&s) => {}
                _ => self.add(
                    &format!("{path}.share_bps"),
                    "an ultimate beneficial owner holds 25 % to 100 % (2500 to 10000 basis points)"
                        .into(),
                ),
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    pub(crate) fn complete() -> Application {
        Application {
            legal_name: "Tienda Ana SAS".into(),
            nit: "900123456-8".into(),
            company_type: "sas".into(),
            address: "Calle 10 # 20-30".into(),
            municipality: "11001".into(),
            representative: Person {
                name: "Ana Gómez".into(),
                document_type: "CC".into(),
                document_number: "1020304050".into(),
                nationality: "CO".into(),
                share_bps: None,
            },
            owners: vec![Person {
                name: "Ana Gómez".into(),
                document_type: "CC".into(),
                document_number: "1020304050".into(),
                nationality: "CO".into(),
                share_bps: Some(6_000),
            }],
            monthly_payins_cop: 50_000_000,
            average_payin_cop: 80_000,
            monthly_payouts_cop: 0,
            average_payout_cop: 0,
            activity: "Venta de ropa en línea".into(),
            website: "https://tienda.example.co".into(),
        }
    }

    #[test]
    fn a_complete_application_has_no_problem() {
        assert_eq!(complete().problems(), vec![]);
    }

    #[test]
    fn every_problem_is_listed_with_its_field() {
        let mut a = complete();
        a.nit = "900123456-7".into();
        a.company_type = "corp".into();
        a.municipality = "Bogotá".into();
        a.representative.nationality = "colombia".into();
        a.owners[0].share_bps = Some(2_499);
        a.owners.push(Person {
            share_bps: Some(5_000),
            ..a.owners[0].clone()
        });
        a.website = "tienda.example.co".into();
        let fields: Vec<String> = a.problems().into_iter().map(|p| p.field).collect();
        assert_eq!(
            fields,
            [
                "nit",
                "company_type",
                "municipality",
                "representative.nationality",
                "owners.0.share_bps",
                "website"
            ]
        );
    }

    #[test]
    fn the_municipality_is_a_code_on_danes_list() {
        for code in ["11001", "05001", "76001", "88001", "91263", "27493"] {
            let mut a = complete();
            a.municipality = code.into();
            assert_eq!(a.problems(), vec![], "{code}");
        }
        let malformed = "must be the municipality's 5-digit DANE code (11001 for Bogotá)";
        let unknown = "is not a DANE municipality code (11001 for Bogotá)";
        for (code, message) in [
            ("", malformed),
            ("Bogotá", malformed),
            ("1100", malformed),
            ("110011", malformed),
            (" 11001", malformed),
            ("1100a", malformed),
            ("00000", unknown),
            ("11002", unknown),
            ("99999", unknown),
            ("94663", unknown),
        ] {
            let mut a = complete();
            a.municipality = code.into();
            assert_eq!(
                a.problems(),
                vec![Problem {
                    field: "municipality".into(),
                    message: message.into(),
                }],
                "{code:?}"
            );
        }
    }

    #[test]
    fn owners_hold_25_to_100_percent_and_no_more_than_all_together() {
        let mut a = complete();
        a.owners[0].share_bps = Some(UBO_SHARE_MIN_BPS);
        assert!(a.problems().is_empty());
        a.owners.push(a.owners[0].clone());
        a.owners[1].share_bps = Some(7_501);
        let fields: Vec<String> = a.problems().into_iter().map(|p| p.field).collect();
        assert_eq!(fields, ["owners"]);
    }

    #[test]
    fn the_review_moves_only_along_its_arrows() {
        use KycAction as A;
        use KycStatus as S;
        assert_eq!(next(S::Draft, A::Submit), Ok(S::Submitted));
        assert_eq!(next(S::Submitted, A::StartReview), Ok(S::InReview));
        assert_eq!(next(S::InReview, A::RequestInfo), Ok(S::NeedsInfo));
        assert_eq!(next(S::NeedsInfo, A::Submit), Ok(S::Submitted));
        assert_eq!(next(S::InReview, A::Approve), Ok(S::Approved));
        assert_eq!(next(S::Submitted, A::Reject), Ok(S::Rejected));
        for from in [S::Approved, S::Rejected] {
            for action in [
                A::Submit,
                A::StartReview,
                A::Approve,
                A::Reject,
                A::RequestInfo,
            ] {
                assert!(next(from, action).is_err(), "{from} {action:?}");
            }
        }
        assert!(next(S::Draft, A::Approve).is_err());
        assert!(next(S::NeedsInfo, A::Approve).is_err());
        assert!(next(S::InReview, A::Submit).is_err());
        let e = next(S::Approved, A::Submit).unwrap_err();
        assert_eq!(
            e.to_string(),
            "a KYC application that is approved cannot submit"
        );
    }

    #[test]
    fn statuses_read_back_from_their_codes() {
        for s in KycStatus::ALL {
            assert_eq!(s.as_str().parse::<KycStatus>().unwrap(), s);
        }
        assert!("open".parse::<KycStatus>().is_err());
    }
}
