//! `POST /v1/payouts` as sent, and validated into a [`PayoutRequest`].

// The parent module's imports: these lines were part of it.
use super::*;

/// `POST /v1/payouts` body.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePayout {
    /// In whole pesos, within the network's limits.
    #[schema(schema_with = crate::openapi::payout_amount)]
    amount: i64,
    /// `COP` (cash networks pay and collect pesos).
    #[schema(schema_with = crate::openapi::cop_only)]
    currency: String,
    /// The merchant's own reference (printable characters).
    reference: Option<String>,
    /// Who collects the cash.
    beneficiary: BeneficiaryIn,
    /// A network code (`efecty`); by default the merchant's routing picks one.
    network: Option<String>,
    /// The pick-up code's validity.
    #[schema(schema_with = crate::openapi::payout_expires_in_seconds)]
    expires_in_seconds: Option<i64>,
    /// Your key-value pairs.
    #[schema(schema_with = crate::openapi::metadata)]
    metadata: Option<Map<String, Value>>,
    /// Test mode only: the caller's test clock (`clock_…`) the payout lives on (its `created`,
    /// `expires_at` and expiry follow that clock).
    test_clock: Option<String>,
}

/// The beneficiary as sent.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Beneficiary)]
pub struct BeneficiaryIn {
    /// Full name as on the document.
    name: String,
    /// The document the beneficiary shows at the counter.
    document: DocumentIn,
    /// Colombian mobile number.
    phone: Option<String>,
    /// Email address.
    email: Option<String>,
}

/// A validated payout request.
#[derive(Debug, Clone)]
pub struct PayoutRequest {
    /// Whole pesos.
    pub amount: Amount,
    pub(super) reference: Option<String>,
    pub(super) name: PersonName,
    pub(super) document: Document,
    pub(super) beneficiary: Value,
    pub(super) network: Option<String>,
    pub(super) expires_in_s: i64,
    pub(super) metadata: Value,
    pub(super) test_clock: Option<String>,
}

impl PayoutRequest {
    /// The beneficiary's phone (E.164), when given.
    pub fn phone(&self) -> Option<&str> {
        self.beneficiary.get("phone").and_then(Value::as_str)
    }
}

impl CreatePayout {
    /// The payout that pays a cash pick-up refund.
    pub fn for_refund(
        amount: Amount,
        beneficiary: BeneficiaryIn,
        expires_in_seconds: Option<i64>,
    ) -> CreatePayout {
        CreatePayout {
            amount: amount.minor(),
            currency: Currency::Cop.code().to_string(),
            reference: None,
            beneficiary,
            network: None,
            expires_in_seconds,
            metadata: None,
            // A refund is paid out on real time.
            test_clock: None,
        }
    }

    /// Parses every field into domain types, naming the field at fault.
    pub fn parse(self) -> Result<PayoutRequest, ApiError> {
        let amount = validate::cop_amount(self.amount, &self.currency)?;
        let name = validate::person_name(&self.beneficiary.name, "beneficiary.name")?;
        let document = validate::document(self.beneficiary.document, "beneficiary.document")?;
        let phone = self
            .beneficiary
            .phone
            .as_deref()
            .map(|p| validate::phone(p, "beneficiary.phone"))
            .transpose()?;
        let email = self
            .beneficiary
            .email
            .as_deref()
            .map(|e| validate::email(e, "beneficiary.email"))
            .transpose()?;
        let beneficiary = json!({
            "name": name.as_str(),
            "document": validate::document_json(&document),
            "phone": phone.as_ref().map(|p| p.as_str()),
            "email": email,
        });
        Ok(PayoutRequest {
            amount,
            reference: validate::reference(self.reference)?,
            name,
            document,
            beneficiary,
            network: self.network,
            expires_in_s: validate::expiry(
                self.expires_in_seconds,
                EXPIRES_IN_S_DEFAULT,
                EXPIRES_IN_S_MIN,
                EXPIRES_IN_S_MAX,
            )?,
            metadata: validate::metadata(self.metadata)?,
            test_clock: self.test_clock,
        })
    }
}
