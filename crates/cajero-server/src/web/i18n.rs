//! Everything the dashboard says, in English, Spanish (Colombia) and Simplified Chinese.
//!
//! Each language is a table of `key → text`; templates ask for keys (`t.get("…")`). The tests
//! fail when a language lacks a key another has, or a template asks for a key no language has.

use std::collections::HashMap;
use std::sync::LazyLock;

/// A language of the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Locale {
    /// English.
    En,
    /// Spanish (Colombia).
    Es,
    /// Simplified Chinese.
    Zh,
}

impl Locale {
    /// Every language, in the order the switch lists them.
    pub const ALL: [Locale; 3] = [Locale::En, Locale::Es, Locale::Zh];

    /// The BCP 47 tag (`<html lang>`, the user's setting).
    pub fn tag(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Es => "es-CO",
            Locale::Zh => "zh-CN",
        }
    }

    /// The language's own name, for the switch.
    pub fn name(self) -> &'static str {
        match self {
            Locale::En => "English",
            Locale::Es => "Español",
            Locale::Zh => "中文",
        }
    }

    /// A stored or submitted tag (`en`, `es`, `es-CO`, `zh`, `zh-CN`, any case).
    pub fn parse(tag: &str) -> Option<Locale> {
        let primary = tag.split(['-', '_']).next().unwrap_or("").trim();
        match primary.to_ascii_lowercase().as_str() {
            "en" => Some(Locale::En),
            "es" => Some(Locale::Es),
            "zh" => Some(Locale::Zh),
            _ => None,
        }
    }

    /// The best language for an `Accept-Language` header (by quality, then order), else
    /// English.
    pub fn from_accept_language(header: Option<&str>) -> Locale {
        let mut best: Option<(u16, Locale)> = None;
        for part in header.unwrap_or("").split(',') {
            let mut pieces = part.split(';');
            let tag = pieces.next().unwrap_or("").trim();
            let quality = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            // Thousandths, so that the comparison is on integers.
            let q = (quality.clamp(0.0, 1.0) * 1000.0) as u16;
            if q == 0 {
                continue;
            }
            if let Some(locale) = Locale::parse(tag)
                && best.is_none_or(|(b, _)| q > b)
            {
                best = Some((q, locale));
            }
        }
        best.map_or(Locale::En, |(_, l)| l)
    }

    /// This language's texts.
    pub fn texts(self) -> &'static Texts {
        &TEXTS[match self {
            Locale::En => 0,
            Locale::Es => 1,
            Locale::Zh => 2,
        }]
    }

    /// An amount in the currency's unit (whole pesos for COP, cents for USD) as this
    /// language writes it: `$ 150.000` (es-CO), `COP 150,000` (en), `COP 150,000` (zh-CN).
    pub fn money(self, amount: i64, currency: &str) -> String {
        let decimals = if currency == "USD" { 2 } else { 0 };
        let (group, point) = match self {
            Locale::Es => ('.', ','),
            Locale::En | Locale::Zh => (',', '.'),
        };
        let sign = if amount < 0 { "-" } else { "" };
        let magnitude = amount.unsigned_abs();
        let divisor = 10u64.pow(decimals);
        let digits = (magnitude / divisor).to_string();
        let mut units = String::with_capacity(digits.len() + digits.len() / 3);
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                units.push(group);
            }
            units.push(c);
        }
        let number = if decimals == 0 {
            units
        } else {
            format!("{units}{point}{:02}", magnitude % divisor)
        };
        match (self, currency) {
            (Locale::Es, "COP") => format!("{sign}$ {number}"),
            _ => format!("{sign}{currency} {number}"),
        }
    }
}

/// One language's texts.
#[derive(Debug)]
pub struct Texts {
    locale: Locale,
    map: HashMap<&'static str, &'static str>,
}

impl Texts {
    /// The text of `key`; a missing key shows itself (and fails the tests).
    pub fn get<'a>(&'a self, key: &'a str) -> &'a str {
        self.map.get(key).copied().unwrap_or(key)
    }

    /// True when the language has `key`.
    pub fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    /// Its language.
    pub fn locale(&self) -> Locale {
        self.locale
    }
}

static TEXTS: LazyLock<[Texts; 3]> = LazyLock::new(|| {
    [(Locale::En, EN), (Locale::Es, ES), (Locale::Zh, ZH)].map(|(locale, table)| Texts {
        locale,
        map: table.iter().copied().collect(),
    })
});

const EN: &[(&str, &str)] = &[
    ("nav.webhooks", "Webhooks"),
    ("webhooks.title", "Webhook endpoints"),
    ("webhooks.new_secret", "The endpoint's signing secret"),
    ("webhooks.secret", "Signing secret"),
    ("webhooks.endpoints", "Endpoints"),
    ("webhooks.events", "Events"),
    ("webhooks.rotate", "Rotate secret"),
    ("webhooks.delete", "Delete"),
    (
        "webhooks.confirm_delete",
        "I understand this endpoint will receive nothing more",
    ),
    ("webhooks.add", "Add an endpoint"),
    ("webhooks.description", "Description (optional)"),
    (
        "webhooks.all_events",
        "It receives every event; the API can narrow the list.",
    ),
    ("webhooks.url_refused", "That URL cannot receive webhooks."),
    ("webhooks.invalid", "Check the fields and try again."),
    (
        "webhooks.too_many",
        "This mode has as many endpoints as it may.",
    ),
    ("nav.analytics", "Analytics"),
    ("analytics.title", "Analytics"),
    ("analytics.period", "Orders created from"),
    ("analytics.data", "The figures"),
    ("analytics.per_day", "Vouchers created per day, by network"),
    ("analytics.payin_funnel", "Vouchers: created → paid"),
    (
        "analytics.payout_funnel",
        "Pick-up codes: created → collected",
    ),
    ("analytics.vouchers", "Vouchers"),
    ("analytics.codes", "Pick-up codes"),
    ("analytics.rate_by_network", "Success rate per network"),
    (
        "analytics.rate_by_counter",
        "Success rate per counter (busiest)",
    ),
    ("analytics.time_to_pay", "Time to pay"),
    ("analytics.time_to_collect", "Time to collect"),
    ("analytics.under_15m", "under 15 min"),
    ("analytics.under_1h", "15 min – 1 h"),
    ("analytics.under_6h", "1 h – 6 h"),
    ("analytics.under_24h", "6 h – 24 h"),
    ("analytics.under_72h", "24 h – 72 h"),
    ("analytics.under_other", "other"),
    ("analytics.over_72h", "72 h or more"),
    ("nav.security", "Security"),
    ("totp.title", "Two-factor authentication"),
    (
        "totp.prompt",
        "Enter the 6-digit code from your authenticator app.",
    ),
    ("totp.code", "Code"),
    ("totp.verify", "Verify"),
    ("totp.invalid", "Wrong, expired or already used code."),
    (
        "totp.locked",
        "Too many wrong codes. Try again in 15 minutes.",
    ),
    ("security.title", "Security"),
    ("security.two_factor", "Two-factor authentication (TOTP)"),
    (
        "security.enabled",
        "On: every sign-in asks for a code from your authenticator app.",
    ),
    ("security.disabled", "Off. Owners need it to use live mode."),
    ("security.set_up", "Set up two-factor authentication"),
    (
        "security.scan",
        "Scan this code with your authenticator app, then enter the code it shows.",
    ),
    ("security.or_type", "Or type this key:"),
    ("security.confirm", "Confirm and turn on"),
    (
        "security.qr",
        "QR code to add this account to an authenticator app",
    ),
    (
        "security.required_for_live",
        "Turn on two-factor authentication (Security) before using live mode.",
    ),
    ("nav.payouts", "Payouts"),
    ("payouts.title", "Payouts"),
    ("payouts.beneficiary", "Beneficiary"),
    ("payouts.route_reason", "Route"),
    ("payouts.collected", "Collected"),
    ("payouts.failure", "Failure"),
    ("payouts.attempts", "Counter attempts"),
    ("payouts.counter", "Counter"),
    ("payouts.outcome", "Outcome"),
    ("status.on_hold", "On hold"),
    ("status.available", "Ready to collect"),
    ("status.collected", "Collected"),
    ("status.failed", "Failed"),
    ("evidence.title", "Network messages"),
    (
        "evidence.hint",
        "Every exchange with the network, as sent and received (secrets removed).",
    ),
    ("evidence.request", "Request"),
    ("evidence.response", "Response"),
    ("nav.keys", "API keys"),
    ("mode.switch_to_live", "Switch to live"),
    ("mode.switch_to_test", "Switch to test"),
    ("keys.title", "API keys"),
    ("keys.new_heading", "Your new secret key"),
    (
        "keys.shown_once",
        "Copy it now: it is shown this once and cannot be shown again.",
    ),
    ("keys.secret", "Secret key"),
    ("keys.list", "Keys"),
    ("keys.prefix", "Key"),
    ("keys.mode", "Mode"),
    ("keys.last_used", "Last used"),
    ("keys.revoked", "Revoked"),
    ("keys.active", "Active"),
    ("keys.actions", "Actions"),
    ("keys.roll", "Roll"),
    ("keys.revoke", "Revoke"),
    (
        "keys.confirm_revoke",
        "I understand requests with this key will fail",
    ),
    (
        "keys.confirm_needed",
        "Tick the box to confirm the revocation.",
    ),
    ("keys.create", "Create a key"),
    (
        "keys.live_not_allowed",
        "Live mode needs your merchant to be approved (KYC) first.",
    ),
    ("app.name", "cajero dashboard"),
    ("nav.home", "Home"),
    ("nav.payins", "Pay-ins"),
    ("nav.audit", "Audit log"),
    ("nav.sign_out", "Sign out"),
    ("nav.language", "Language"),
    ("nav.skip", "Skip to content"),
    ("mode.test", "Test mode"),
    ("mode.live", "Live mode"),
    ("signin.title", "Sign in"),
    ("signin.email", "E-mail address"),
    ("signin.password", "Password"),
    ("signin.submit", "Sign in"),
    ("signin.no_account", "No account yet?"),
    ("signin.invalid", "Wrong e-mail address or password."),
    ("signin.locked", "Too many failed sign-ins. Try again after"),
    (
        "signin.throttled",
        "Too many attempts from your address. Wait a minute and try again.",
    ),
    (
        "signin.suspended",
        "This merchant is suspended. Contact the operator.",
    ),
    ("signup.title", "Create your merchant account"),
    ("signup.company", "Company name"),
    ("signup.name", "Your name"),
    ("signup.password_hint", "12 to 128 characters."),
    ("signup.submit", "Create account"),
    ("signup.have_account", "Already have an account?"),
    (
        "signup.email_taken",
        "That e-mail address already has an account.",
    ),
    ("signup.invalid_email", "Enter a valid e-mail address."),
    (
        "signup.invalid_name",
        "Enter a name (1 to 100 characters; company: 1 to 120).",
    ),
    (
        "signup.bad_password",
        "The password must be 12 to 128 characters.",
    ),
    (
        "error.csrf",
        "This form expired. Reload the page and try again.",
    ),
    ("error.not_found", "Not found."),
    ("error.forbidden", "Your role does not allow this."),
    (
        "error.internal",
        "Something went wrong on our side. Try again in a moment.",
    ),
    ("home.title", "Home"),
    ("home.welcome", "Welcome"),
    ("home.balance", "Balance"),
    ("home.available", "Available"),
    ("home.pending", "Pending"),
    ("home.reserved", "Reserved for payouts"),
    ("home.recent_payins", "Latest pay-ins"),
    ("home.all_payins", "All pay-ins"),
    ("home.none", "Nothing yet."),
    ("payins.title", "Pay-ins"),
    ("payins.filter", "Filter"),
    ("payins.status", "Status"),
    ("payins.any_status", "Any status"),
    ("payins.id", "Id"),
    ("payins.amount", "Amount"),
    ("payins.reference", "Reference"),
    ("payins.network", "Network"),
    ("payins.created", "Created"),
    ("payins.paid_at", "Paid"),
    ("payins.expires", "Expires"),
    ("payins.code", "Payment code"),
    ("payins.fee", "Fee"),
    ("payins.refunded", "Refunded"),
    ("payins.voucher", "Voucher page"),
    ("payins.newer", "Newer"),
    ("payins.older", "Older"),
    ("payins.details", "Details"),
    ("payins.ledger", "Ledger entries"),
    ("payins.ledger_code", "Entry"),
    ("payins.debit", "Debit"),
    ("payins.credit", "Credit"),
    ("payins.when", "When"),
    ("status.pending", "Pending"),
    ("status.paid", "Paid"),
    ("status.expired", "Expired"),
    ("status.canceled", "Canceled"),
    ("audit.title", "Audit log"),
    ("audit.who", "Who"),
    ("audit.what", "What"),
    ("audit.object", "Object"),
    ("audit.from", "From"),
    ("audit.when", "When"),
    ("action.refunded", "Refund created."),
    (
        "action.canceled",
        "Payout canceled: the code can no longer be collected.",
    ),
    ("action.resent", "Event queued for delivery again."),
    ("action.refused", "cajero refused this action."),
    (
        "refusal.refund_exceeds_remaining",
        "That is more than is left to refund.",
    ),
    (
        "refusal.payin_not_refundable",
        "Only paid pay-ins can be refunded.",
    ),
    (
        "refusal.amount_invalid",
        "Enter a whole number of pesos greater than zero.",
    ),
    (
        "refusal.insufficient_balance",
        "The available balance is not enough.",
    ),
    (
        "refusal.risk_denied",
        "The risk checks refuse this operation: the Risk page names the rule.",
    ),
    (
        "refusal.parameter_missing",
        "A required field is empty: for a cash pick-up, the beneficiary's name and document.",
    ),
    (
        "refusal.parameter_invalid",
        "A field is not valid: check the name and the document number.",
    ),
    (
        "refusal.payout_not_cancelable",
        "This payout can no longer be canceled.",
    ),
    (
        "refusal.network_unavailable",
        "The cash network is not answering. Try again in a few minutes.",
    ),
    (
        "refusal.in_progress",
        "This action is still being processed. Reload the page shortly.",
    ),
    ("refusal.confirm_needed", "Tick the confirmation box first."),
    ("timeline.title", "Timeline: events and webhook deliveries"),
    ("timeline.resend", "Resend"),
    (
        "timeline.no_endpoint",
        "No webhook endpoint was subscribed to this event.",
    ),
    ("timeline.endpoint", "Endpoint"),
    ("timeline.attempts", "Attempts"),
    ("timeline.last_attempt", "Last attempt"),
    ("timeline.answer", "Answer"),
    ("refund.title", "Refund this pay-in"),
    ("refund.amount", "Amount (COP)"),
    ("refund.method", "Method"),
    ("refund.bank_transfer", "Bank transfer"),
    ("refund.cash_pickup", "Cash pick-up"),
    ("refund.reason", "Reason (optional)"),
    ("refund.beneficiary", "For a cash pick-up: who collects it"),
    ("refund.name", "Full name as on the document"),
    ("refund.document_type", "Document type"),
    ("refund.document_number", "Document number"),
    ("refund.confirm", "I confirm this refund"),
    ("refund.submit", "Refund"),
    ("refund.list", "Refunds"),
    ("payouts.refund", "Pays refund"),
    (
        "payouts.confirm_cancel",
        "I confirm: the code will no longer be collectable",
    ),
    ("payouts.cancel", "Cancel payout"),
    ("nav.refunds", "Refunds"),
    ("nav.balance", "Balance"),
    ("nav.settlements", "Settlements"),
    ("nav.events", "Events"),
    (
        "lists.refunds_hint",
        "Every refund of your pay-ins, newest first.",
    ),
    ("lists.events", "Events"),
    (
        "lists.events_hint",
        "Everything that happened to your objects, as sent to your webhook endpoints.",
    ),
    ("lists.type", "Type"),
    ("lists.object", "Object"),
    ("lists.balance_transactions", "Balance transactions"),
    (
        "lists.balance_transactions_hint",
        "Every movement of your balance, with its fee and when it becomes available.",
    ),
    ("lists.net", "Net"),
    ("lists.available_on", "Available on"),
    ("lists.source", "Source"),
    ("lists.settlements", "Settlements"),
    (
        "lists.settlements_hint",
        "What cajero paid you, day by day, each with its statement as CSV.",
    ),
    ("lists.settlement_date", "Settlement date"),
    ("lists.gross", "Gross"),
    ("lists.settled", "Settled"),
    ("lists.lines", "Lines"),
    ("lists.statement", "Statement"),
    ("home.volume", "Volume"),
    (
        "home.volume_hint",
        "Orders created in the period: how many were paid or collected, and the pesos they moved.",
    ),
    ("home.period", "Period"),
    ("home.today", "Today"),
    ("home.this_month", "This month"),
    ("home.vouchers_paid", "Vouchers paid"),
    ("home.paid_in", "Paid in"),
    ("home.codes_collected", "Codes collected"),
    ("home.paid_out", "Paid out"),
    ("home.open", "Needs attention"),
    (
        "home.nothing_open",
        "No open alerts or reconciliation exceptions.",
    ),
    ("home.alerts", "Open alerts"),
    ("home.exceptions", "Open reconciliation exceptions"),
    (
        "analytics.volume_in_per_day",
        "Pesos paid in per day, by network (vouchers created that day)",
    ),
    (
        "analytics.volume_out_per_day",
        "Pesos collected per day, by network (codes created that day)",
    ),
    ("nav.team", "Team"),
    ("team.title", "Team"),
    ("team.members", "Users"),
    ("team.role", "Role"),
    ("team.role_owner", "Owner"),
    ("team.role_developer", "Developer"),
    ("team.role_analyst", "Analyst (read only)"),
    (
        "team.roles_hint",
        "Owners do everything; developers manage API keys and webhooks; analysts only read.",
    ),
    ("team.pending", "Open invitations"),
    ("team.expires", "Link expires"),
    ("team.revoke", "Withdraw"),
    (
        "team.confirm_revoke",
        "I confirm: the link will stop working",
    ),
    ("team.invite", "Invite a user"),
    ("team.invalid_role", "Choose a role."),
    (
        "team.too_many",
        "This merchant has as many open invitations as it may (50).",
    ),
    (
        "team.too_many_users",
        "This merchant has as many users as it may (200).",
    ),
    ("team.sent", "Invitation e-mailed to"),
    (
        "team.mail_failed",
        "The e-mail could not be sent: pass this link on yourself.",
    ),
    ("team.link_heading", "Invitation link"),
    (
        "team.link_hint",
        "No e-mail relay is configured: send this one-time link to the person yourself. It works once, for 7 days, and is shown only now.",
    ),
    ("team.link", "One-time link"),
    (
        "team.link_invalid",
        "This invitation link is not valid: it may have been used, withdrawn or expired. Ask for a new one.",
    ),
    ("team.accept_title", "Join your team on cajero"),
    ("team.accept", "Create my account"),
    ("team.mail_subject", "You are invited to a cajero dashboard"),
    (
        "team.mail_body",
        "You have been invited to work in a merchant's cajero dashboard. Open this link to choose your name and password:",
    ),
    ("team.mail_expiry", "The link works once, for 7 days."),
    (
        "action.test_sent",
        "Test event queued: reload to see its delivery below.",
    ),
    (
        "refusal.test_mode_only",
        "Test deliveries are sent in test mode only: switch to test mode.",
    ),
    ("webhooks.test", "Send a test event"),
    (
        "webhooks.test_hint",
        "An event of the type you choose, whose object is {\"object\": \"test\"}, signed and delivered to this endpoint only.",
    ),
    ("webhooks.send_test", "Send test event"),
    ("webhooks.log", "Delivery log"),
    (
        "webhooks.log_hint",
        "The last 50 attempts, newest first, with what the endpoint answered.",
    ),
    ("team.change_role", "Change role"),
    ("team.remove", "Remove"),
    (
        "team.confirm_remove",
        "I confirm: this user is signed out and can no longer sign in",
    ),
    (
        "team.last_owner",
        "A merchant keeps at least one owner: make someone else owner first.",
    ),
    ("nav.onboarding", "Onboarding"),
    ("kyc.title", "Onboarding (KYC)"),
    (
        "kyc.hint",
        "Tell us who your company is. Live mode opens once an operator approves it.",
    ),
    ("kyc.status_draft", "Draft"),
    ("kyc.status_submitted", "Submitted"),
    ("kyc.status_in_review", "In review"),
    ("kyc.status_approved", "Approved"),
    ("kyc.status_rejected", "Rejected"),
    ("kyc.status_needs_info", "More information needed"),
    ("kyc.saved", "Saved."),
    ("kyc.submitted", "Submitted: an operator will review it."),
    (
        "kyc.incomplete",
        "Saved, but not submitted: complete the fields listed.",
    ),
    (
        "kyc.not_editable",
        "The application is under review and can no longer be changed.",
    ),
    ("kyc.questions", "The operator asks"),
    ("kyc.decision", "Decision"),
    ("kyc.submitted_at", "Last submitted:"),
    ("kyc.missing", "To complete"),
    ("kyc.application", "The application"),
    ("kyc.company", "The company"),
    ("kyc.legal_name", "Legal name (razón social)"),
    ("kyc.nit", "NIT with its check digit"),
    ("kyc.company_type", "Company type"),
    ("kyc.company_sas", "S.A.S."),
    ("kyc.company_sa", "S.A."),
    ("kyc.company_ltda", "Ltda."),
    ("kyc.company_sca", "S.C.A."),
    ("kyc.company_scs", "S. en C.S."),
    ("kyc.company_eu", "E.U."),
    (
        "kyc.company_persona_natural",
        "Sole trader (persona natural)",
    ),
    ("kyc.address", "Address"),
    ("kyc.municipality", "Municipality (DANE code)"),
    (
        "kyc.municipality_hint",
        "5 digits: 11001 Bogotá, 05001 Medellín, 76001 Cali.",
    ),
    ("kyc.activity", "Business activity"),
    ("kyc.website", "Website"),
    ("kyc.representative", "Legal representative"),
    ("kyc.nationality", "Nationality (2-letter code)"),
    ("kyc.owners", "Ultimate beneficial owners"),
    (
        "kyc.owners_hint",
        "Everyone who holds 25 % or more of the company; leave the other rows empty.",
    ),
    ("kyc.owner", "Owner"),
    ("kyc.share", "Share (%)"),
    ("kyc.expected", "Expected volume"),
    ("kyc.payins", "Expected pay-ins"),
    ("kyc.payouts", "Expected payouts"),
    ("kyc.monthly_payins", "Pay-ins per month (COP)"),
    ("kyc.average_payin", "Average pay-in (COP)"),
    ("kyc.monthly_payouts", "Payouts per month (COP)"),
    ("kyc.average_payout", "Average payout (COP)"),
    ("kyc.save", "Save"),
    ("kyc.submit", "Save and submit"),
    (
        "home.onboarding_todo",
        "Complete your onboarding to use live mode.",
    ),
    ("kyc.documents", "Documents"),
    (
        "kyc.documents_hint",
        "RUT, Cámara de Comercio certificate (at most 30 days old), the legal representative's ID and a bank account certificate: PDF, JPEG or PNG, up to 10 MiB each. Only your owners and cajero's operators can open them.",
    ),
    ("kyc.file", "File"),
    ("kyc.upload", "Upload"),
    ("kyc.uploaded", "Document uploaded."),
    (
        "kyc.file_type",
        "That file is not a PDF, JPEG or PNG (its content was checked, not its name).",
    ),
    (
        "kyc.file_size",
        "The file is empty or larger than 10 MiB (or you have 40 documents already).",
    ),
    ("kyc.document_kind", "Choose which document this is."),
    ("kyc.doc_rut", "RUT"),
    (
        "kyc.doc_chamber_certificate",
        "Cámara de Comercio certificate",
    ),
    ("kyc.doc_representative_id", "Legal representative's ID"),
    ("kyc.doc_bank_certificate", "Bank account certificate"),
    ("kyc.issued_on", "Issue date (fecha de expedición)"),
    (
        "kyc.issued_on_hint",
        "As printed on the certificate. It must be at most 30 days old when you submit the application and when it is approved.",
    ),
    (
        "kyc.issued_on_refused",
        "Enter the certificate's issue date (fecha de expedición); it cannot be later than today.",
    ),
    (
        "kyc.certificate_too_old",
        "That Cámara de Comercio certificate was issued more than 30 days ago: request a new one and upload it.",
    ),
    (
        "kyc.chamber_age",
        "A Cámara de Comercio certificate issued at most 30 days ago, with its issue date",
    ),
    (
        "kyc.mail_subject_in_review",
        "Your cajero application is in review",
    ),
    (
        "kyc.mail_body_in_review",
        "An operator has started reviewing your onboarding application. We will write again when it is decided or if we need more information.",
    ),
    (
        "kyc.mail_subject_needs_info",
        "Your cajero application needs more information",
    ),
    (
        "kyc.mail_body_needs_info",
        "The operator reviewing your onboarding application needs more information. Answer on your onboarding page (edit the application or upload documents) and submit it again.",
    ),
    (
        "kyc.mail_subject_approved",
        "Your cajero application is approved",
    ),
    (
        "kyc.mail_body_approved",
        "Your onboarding application was approved: your account can now use live mode (create a live key in the dashboard).",
    ),
    (
        "kyc.mail_subject_rejected",
        "Your cajero application was rejected",
    ),
    (
        "kyc.mail_body_rejected",
        "Your onboarding application was rejected.",
    ),
    ("kyc.mail_questions", "The operator asks:"),
    ("kyc.mail_reason", "Reason:"),
    ("kyc.mail_link", "Your onboarding page:"),
    ("nav.privacy", "Privacy"),
    ("privacy.title", "Privacy and personal data"),
    ("privacy.events_heading", "Personal data in events"),
    (
        "privacy.events_intro",
        "Events (webhooks and GET /v1/events) show the document and phone numbers of customers and beneficiaries by their last four digits, their names by their initials and their e-mail addresses by the first letter and the domain. Pay-ins, payouts and the API's answers keep them whole.",
    ),
    ("privacy.now_masked", "Now: masked (the default)."),
    ("privacy.now_full", "Now: full personal data in events."),
    (
        "privacy.full_warning",
        "Turn full personal data on only if your systems need it from events: under Colombia's Ley 1581 de 2012 you answer for every copy you receive and keep.",
    ),
    ("privacy.turn_on", "Send full personal data in events"),
    ("privacy.turn_off", "Mask personal data in events"),
    ("privacy.owners_only", "Only owners can change this."),
    ("privacy.saved", "Saved: it applies from the next event."),
    ("nav.risk", "Risk"),
    ("risk.title", "Risk"),
    ("risk.decisions", "Decisions"),
    (
        "risk.decisions_hint",
        "Your pay-ins and payouts that were held for review or refused in this mode, newest first, with every check that fired and what it saw. When the API answers risk_denied, this is where you see which rule refused the operation.",
    ),
    (
        "risk.decisions_none",
        "No operation was held or refused in this mode.",
    ),
    ("risk.when", "When"),
    ("risk.operation", "Operation"),
    ("risk.outcome", "Outcome"),
    ("risk.checks", "Checks that fired"),
    ("risk.flow_payin", "Pay-in"),
    ("risk.flow_payout", "Payout"),
    ("risk.not_created", "(not created)"),
    ("risk.outcome_review", "Held for review"),
    ("risk.outcome_deny", "Refused"),
    ("risk.outcome_allow", "Allowed"),
    ("risk.action_review", "review"),
    ("risk.action_deny", "refuse"),
    ("risk.action_alert", "alert the operator"),
    ("risk.rules_version", "Rule set version"),
    ("risk.blocklist", "Your blocklist"),
    (
        "risk.blocklist_hint",
        "Documents, phones and names refused for your own pay-ins and payouts, in live and test mode. The platform's operator keeps a list of its own, which is not shown here.",
    ),
    ("risk.blocklist_none", "Your blocklist is empty."),
    ("risk.kind", "Kind"),
    ("risk.kind_document", "Document"),
    ("risk.kind_phone", "Phone"),
    ("risk.kind_name", "Name"),
    ("risk.kind_other", "Other"),
    ("risk.value", "Value"),
    (
        "risk.value_hint",
        "A document is written TYPE:NUMBER (CC:79876543; CC:79.876.543 is the same entry), a phone as a Colombian number (300 123 4567), a name as it comes: accents, case, order and particles do not matter.",
    ),
    ("risk.reason", "Reason"),
    ("risk.added_at", "Added"),
    ("risk.state", "State"),
    ("risk.in_force", "In force"),
    ("risk.removed", "Removed"),
    ("risk.remove_reason", "Reason for removing"),
    ("risk.remove", "Remove"),
    ("risk.add_heading", "Add to your blocklist"),
    ("risk.add", "Block"),
    ("risk.owners_only", "Only owners can change the blocklist."),
    (
        "risk.done_added",
        "Added: your operations with this value are refused from now on.",
    ),
    (
        "risk.done_removed",
        "Removed: your list no longer refuses operations with this value.",
    ),
    (
        "risk.reason_required",
        "Give a reason (1 to 2,000 characters).",
    ),
    ("risk.bad_kind", "Choose document, phone or name."),
    (
        "risk.bad_document",
        "Write the document as TYPE:NUMBER with a valid number, for example CC:79876543.",
    ),
    ("risk.bad_phone", "That is not a Colombian phone number."),
    (
        "risk.bad_counter",
        "Write a counter as NETWORK:COUNTER, for example efecty:EF-BOG-001.",
    ),
    (
        "risk.bad_name",
        "A name needs letters and at most 200 characters.",
    ),
    (
        "risk.already_blocked",
        "That value is already on your blocklist.",
    ),
    (
        "risk.no_such_entry",
        "That entry is not in force on your blocklist.",
    ),
];

const ES: &[(&str, &str)] = &[
    ("nav.webhooks", "Webhooks"),
    ("webhooks.title", "Endpoints de webhooks"),
    ("webhooks.new_secret", "La clave de firma del endpoint"),
    ("webhooks.secret", "Clave de firma"),
    ("webhooks.endpoints", "Endpoints"),
    ("webhooks.events", "Eventos"),
    ("webhooks.rotate", "Rotar la clave"),
    ("webhooks.delete", "Eliminar"),
    (
        "webhooks.confirm_delete",
        "Entiendo que este endpoint no recibirá nada más",
    ),
    ("webhooks.add", "Agregar un endpoint"),
    ("webhooks.description", "Descripción (opcional)"),
    (
        "webhooks.all_events",
        "Recibe todos los eventos; la API permite acotar la lista.",
    ),
    ("webhooks.url_refused", "Esa URL no puede recibir webhooks."),
    (
        "webhooks.invalid",
        "Revisa los campos e inténtalo de nuevo.",
    ),
    (
        "webhooks.too_many",
        "Este modo ya tiene el máximo de endpoints.",
    ),
    ("nav.analytics", "Analítica"),
    ("analytics.title", "Analítica"),
    ("analytics.period", "Órdenes creadas del"),
    ("analytics.data", "Las cifras"),
    ("analytics.per_day", "Recibos creados por día, por red"),
    ("analytics.payin_funnel", "Recibos: creados → pagados"),
    (
        "analytics.payout_funnel",
        "Códigos de retiro: creados → cobrados",
    ),
    ("analytics.vouchers", "Recibos"),
    ("analytics.codes", "Códigos de retiro"),
    ("analytics.rate_by_network", "Tasa de éxito por red"),
    (
        "analytics.rate_by_counter",
        "Tasa de éxito por punto de pago (los de más movimiento)",
    ),
    ("analytics.time_to_pay", "Tiempo hasta el pago"),
    ("analytics.time_to_collect", "Tiempo hasta el cobro"),
    ("analytics.under_15m", "menos de 15 min"),
    ("analytics.under_1h", "15 min – 1 h"),
    ("analytics.under_6h", "1 h – 6 h"),
    ("analytics.under_24h", "6 h – 24 h"),
    ("analytics.under_72h", "24 h – 72 h"),
    ("analytics.under_other", "otro"),
    ("analytics.over_72h", "72 h o más"),
    ("nav.security", "Seguridad"),
    ("totp.title", "Verificación en dos pasos"),
    (
        "totp.prompt",
        "Escribe el código de 6 dígitos de tu aplicación de autenticación.",
    ),
    ("totp.code", "Código"),
    ("totp.verify", "Verificar"),
    ("totp.invalid", "Código incorrecto, vencido o ya usado."),
    (
        "totp.locked",
        "Demasiados códigos incorrectos. Vuelve a intentar en 15 minutos.",
    ),
    ("security.title", "Seguridad"),
    ("security.two_factor", "Verificación en dos pasos (TOTP)"),
    (
        "security.enabled",
        "Activada: cada inicio de sesión pide un código de tu aplicación de autenticación.",
    ),
    (
        "security.disabled",
        "Desactivada. Los dueños la necesitan para usar el modo real.",
    ),
    ("security.set_up", "Configurar la verificación en dos pasos"),
    (
        "security.scan",
        "Escanea este código con tu aplicación de autenticación y escribe el código que muestra.",
    ),
    ("security.or_type", "O escribe esta clave:"),
    ("security.confirm", "Confirmar y activar"),
    (
        "security.qr",
        "Código QR para agregar esta cuenta a una aplicación de autenticación",
    ),
    (
        "security.required_for_live",
        "Activa la verificación en dos pasos (Seguridad) antes de usar el modo real.",
    ),
    ("nav.payouts", "Giros"),
    ("payouts.title", "Giros"),
    ("payouts.beneficiary", "Beneficiario"),
    ("payouts.route_reason", "Ruta"),
    ("payouts.collected", "Cobrado"),
    ("payouts.failure", "Falla"),
    ("payouts.attempts", "Intentos en punto de pago"),
    ("payouts.counter", "Punto de pago"),
    ("payouts.outcome", "Resultado"),
    ("status.on_hold", "En revisión"),
    ("status.available", "Listo para cobrar"),
    ("status.collected", "Cobrado"),
    ("status.failed", "Fallido"),
    ("evidence.title", "Mensajes con la red"),
    (
        "evidence.hint",
        "Cada intercambio con la red, tal como se envió y recibió (sin secretos).",
    ),
    ("evidence.request", "Solicitud"),
    ("evidence.response", "Respuesta"),
    ("nav.keys", "Llaves de API"),
    ("mode.switch_to_live", "Pasar a modo real"),
    ("mode.switch_to_test", "Pasar a modo de pruebas"),
    ("keys.title", "Llaves de API"),
    ("keys.new_heading", "Tu nueva llave secreta"),
    (
        "keys.shown_once",
        "Cópiala ahora: se muestra esta única vez y no se puede volver a mostrar.",
    ),
    ("keys.secret", "Llave secreta"),
    ("keys.list", "Llaves"),
    ("keys.prefix", "Llave"),
    ("keys.mode", "Modo"),
    ("keys.last_used", "Último uso"),
    ("keys.revoked", "Revocada"),
    ("keys.active", "Activa"),
    ("keys.actions", "Acciones"),
    ("keys.roll", "Rotar"),
    ("keys.revoke", "Revocar"),
    (
        "keys.confirm_revoke",
        "Entiendo que las solicitudes con esta llave fallarán",
    ),
    (
        "keys.confirm_needed",
        "Marca la casilla para confirmar la revocación.",
    ),
    ("keys.create", "Crear una llave"),
    (
        "keys.live_not_allowed",
        "El modo real requiere que tu comercio esté aprobado (KYC).",
    ),
    ("app.name", "Panel de cajero"),
    ("nav.home", "Inicio"),
    ("nav.payins", "Recaudos"),
    ("nav.audit", "Registro de auditoría"),
    ("nav.sign_out", "Cerrar sesión"),
    ("nav.language", "Idioma"),
    ("nav.skip", "Ir al contenido"),
    ("mode.test", "Modo de pruebas"),
    ("mode.live", "Modo real"),
    ("signin.title", "Iniciar sesión"),
    ("signin.email", "Correo electrónico"),
    ("signin.password", "Contraseña"),
    ("signin.submit", "Entrar"),
    ("signin.no_account", "¿Aún no tienes cuenta?"),
    ("signin.invalid", "Correo o contraseña incorrectos."),
    (
        "signin.locked",
        "Demasiados intentos fallidos. Vuelve a intentar después de las",
    ),
    (
        "signin.throttled",
        "Demasiados intentos desde tu dirección. Espera un minuto y vuelve a intentar.",
    ),
    (
        "signin.suspended",
        "Este comercio está suspendido. Comunícate con el operador.",
    ),
    ("signup.title", "Crea la cuenta de tu comercio"),
    ("signup.company", "Razón social"),
    ("signup.name", "Tu nombre"),
    ("signup.password_hint", "De 12 a 128 caracteres."),
    ("signup.submit", "Crear cuenta"),
    ("signup.have_account", "¿Ya tienes cuenta?"),
    ("signup.email_taken", "Ese correo ya tiene una cuenta."),
    (
        "signup.invalid_email",
        "Escribe un correo electrónico válido.",
    ),
    (
        "signup.invalid_name",
        "Escribe un nombre (de 1 a 100 caracteres; razón social: de 1 a 120).",
    ),
    (
        "signup.bad_password",
        "La contraseña debe tener de 12 a 128 caracteres.",
    ),
    (
        "error.csrf",
        "Este formulario venció. Recarga la página e inténtalo de nuevo.",
    ),
    ("error.not_found", "No encontrado."),
    ("error.forbidden", "Tu rol no permite esta acción."),
    (
        "error.internal",
        "Algo falló de nuestro lado. Inténtalo de nuevo en un momento.",
    ),
    ("home.title", "Inicio"),
    ("home.welcome", "Hola"),
    ("home.balance", "Saldo"),
    ("home.available", "Disponible"),
    ("home.pending", "Por liquidar"),
    ("home.reserved", "Reservado para giros"),
    ("home.recent_payins", "Últimos recaudos"),
    ("home.all_payins", "Todos los recaudos"),
    ("home.none", "Todavía no hay nada."),
    ("payins.title", "Recaudos"),
    ("payins.filter", "Filtrar"),
    ("payins.status", "Estado"),
    ("payins.any_status", "Cualquier estado"),
    ("payins.id", "Id"),
    ("payins.amount", "Valor"),
    ("payins.reference", "Referencia"),
    ("payins.network", "Red"),
    ("payins.created", "Creado"),
    ("payins.paid_at", "Pagado"),
    ("payins.expires", "Vence"),
    ("payins.code", "Código de pago"),
    ("payins.fee", "Comisión"),
    ("payins.refunded", "Reembolsado"),
    ("payins.voucher", "Página del recibo"),
    ("payins.newer", "Más recientes"),
    ("payins.older", "Más antiguos"),
    ("payins.details", "Detalles"),
    ("payins.ledger", "Movimientos contables"),
    ("payins.ledger_code", "Movimiento"),
    ("payins.debit", "Débito"),
    ("payins.credit", "Crédito"),
    ("payins.when", "Cuándo"),
    ("status.pending", "Pendiente"),
    ("status.paid", "Pagado"),
    ("status.expired", "Vencido"),
    ("status.canceled", "Anulado"),
    ("audit.title", "Registro de auditoría"),
    ("audit.who", "Quién"),
    ("audit.what", "Qué"),
    ("audit.object", "Objeto"),
    ("audit.from", "Desde"),
    ("audit.when", "Cuándo"),
    ("action.refunded", "Reembolso creado."),
    (
        "action.canceled",
        "Pago cancelado: el código ya no se puede cobrar.",
    ),
    ("action.resent", "Evento encolado para enviarse de nuevo."),
    ("action.refused", "cajero rechazó esta acción."),
    (
        "refusal.refund_exceeds_remaining",
        "Es más de lo que queda por reembolsar.",
    ),
    (
        "refusal.payin_not_refundable",
        "Solo se pueden reembolsar recaudos pagados.",
    ),
    (
        "refusal.amount_invalid",
        "Ingresa un número entero de pesos mayor que cero.",
    ),
    (
        "refusal.insufficient_balance",
        "El saldo disponible no alcanza.",
    ),
    (
        "refusal.risk_denied",
        "Los controles de riesgo rechazan esta operación: la página Riesgo indica la regla.",
    ),
    (
        "refusal.parameter_missing",
        "Falta un campo obligatorio: para un retiro en efectivo, el nombre y el documento del beneficiario.",
    ),
    (
        "refusal.parameter_invalid",
        "Un campo no es válido: revisa el nombre y el número de documento.",
    ),
    (
        "refusal.payout_not_cancelable",
        "Este pago ya no se puede cancelar.",
    ),
    (
        "refusal.network_unavailable",
        "La red de efectivo no responde. Intenta de nuevo en unos minutos.",
    ),
    (
        "refusal.in_progress",
        "Esta acción aún se está procesando. Recarga la página en un momento.",
    ),
    (
        "refusal.confirm_needed",
        "Marca primero la casilla de confirmación.",
    ),
    (
        "timeline.title",
        "Historial: eventos y entregas de webhooks",
    ),
    ("timeline.resend", "Reenviar"),
    (
        "timeline.no_endpoint",
        "Ningún endpoint de webhook estaba suscrito a este evento.",
    ),
    ("timeline.endpoint", "Endpoint"),
    ("timeline.attempts", "Intentos"),
    ("timeline.last_attempt", "Último intento"),
    ("timeline.answer", "Respuesta"),
    ("refund.title", "Reembolsar este recaudo"),
    ("refund.amount", "Monto (COP)"),
    ("refund.method", "Método"),
    ("refund.bank_transfer", "Transferencia bancaria"),
    ("refund.cash_pickup", "Retiro en efectivo"),
    ("refund.reason", "Motivo (opcional)"),
    (
        "refund.beneficiary",
        "Para retiro en efectivo: quién lo cobra",
    ),
    ("refund.name", "Nombre completo como en el documento"),
    ("refund.document_type", "Tipo de documento"),
    ("refund.document_number", "Número de documento"),
    ("refund.confirm", "Confirmo este reembolso"),
    ("refund.submit", "Reembolsar"),
    ("refund.list", "Reembolsos"),
    ("payouts.refund", "Paga el reembolso"),
    (
        "payouts.confirm_cancel",
        "Confirmo: el código ya no se podrá cobrar",
    ),
    ("payouts.cancel", "Cancelar pago"),
    ("nav.refunds", "Reembolsos"),
    ("nav.balance", "Saldo"),
    ("nav.settlements", "Liquidaciones"),
    ("nav.events", "Eventos"),
    (
        "lists.refunds_hint",
        "Todos los reembolsos de tus recaudos, del más reciente al más antiguo.",
    ),
    ("lists.events", "Eventos"),
    (
        "lists.events_hint",
        "Todo lo que les pasó a tus objetos, tal como se envía a tus endpoints de webhook.",
    ),
    ("lists.type", "Tipo"),
    ("lists.object", "Objeto"),
    ("lists.balance_transactions", "Movimientos del saldo"),
    (
        "lists.balance_transactions_hint",
        "Cada movimiento de tu saldo, con su comisión y cuándo queda disponible.",
    ),
    ("lists.net", "Neto"),
    ("lists.available_on", "Disponible el"),
    ("lists.source", "Origen"),
    ("lists.settlements", "Liquidaciones"),
    (
        "lists.settlements_hint",
        "Lo que cajero te pagó, día a día, cada uno con su extracto en CSV.",
    ),
    ("lists.settlement_date", "Fecha de liquidación"),
    ("lists.gross", "Bruto"),
    ("lists.settled", "Liquidado"),
    ("lists.lines", "Líneas"),
    ("lists.statement", "Extracto"),
    ("home.volume", "Volumen"),
    (
        "home.volume_hint",
        "Órdenes creadas en el periodo: cuántas se pagaron o cobraron, y los pesos que movieron.",
    ),
    ("home.period", "Periodo"),
    ("home.today", "Hoy"),
    ("home.this_month", "Este mes"),
    ("home.vouchers_paid", "Recaudos pagados"),
    ("home.paid_in", "Recaudado"),
    ("home.codes_collected", "Códigos cobrados"),
    ("home.paid_out", "Pagado"),
    ("home.open", "Requiere atención"),
    (
        "home.nothing_open",
        "No hay alertas ni excepciones de conciliación abiertas.",
    ),
    ("home.alerts", "Alertas abiertas"),
    ("home.exceptions", "Excepciones de conciliación abiertas"),
    (
        "analytics.volume_in_per_day",
        "Pesos recaudados por día, por red (recaudos creados ese día)",
    ),
    (
        "analytics.volume_out_per_day",
        "Pesos cobrados por día, por red (códigos creados ese día)",
    ),
    ("nav.team", "Equipo"),
    ("team.title", "Equipo"),
    ("team.members", "Usuarios"),
    ("team.role", "Rol"),
    ("team.role_owner", "Propietario"),
    ("team.role_developer", "Desarrollador"),
    ("team.role_analyst", "Analista (solo lectura)"),
    (
        "team.roles_hint",
        "Los propietarios pueden todo; los desarrolladores gestionan llaves de API y webhooks; los analistas solo consultan.",
    ),
    ("team.pending", "Invitaciones abiertas"),
    ("team.expires", "El enlace vence"),
    ("team.revoke", "Retirar"),
    (
        "team.confirm_revoke",
        "Confirmo: el enlace dejará de funcionar",
    ),
    ("team.invite", "Invitar a un usuario"),
    ("team.invalid_role", "Elige un rol."),
    (
        "team.too_many",
        "Este comercio ya tiene el máximo de invitaciones abiertas (50).",
    ),
    (
        "team.too_many_users",
        "Este comercio ya tiene el máximo de usuarios (200).",
    ),
    ("team.sent", "Invitación enviada por correo a"),
    (
        "team.mail_failed",
        "No se pudo enviar el correo: comparte tú mismo este enlace.",
    ),
    ("team.link_heading", "Enlace de invitación"),
    (
        "team.link_hint",
        "No hay un servidor de correo configurado: envía tú mismo este enlace de un solo uso. Funciona una vez, durante 7 días, y solo se muestra ahora.",
    ),
    ("team.link", "Enlace de un solo uso"),
    (
        "team.link_invalid",
        "Este enlace de invitación no es válido: puede que ya se haya usado, retirado o vencido. Pide uno nuevo.",
    ),
    ("team.accept_title", "Únete a tu equipo en cajero"),
    ("team.accept", "Crear mi cuenta"),
    ("team.mail_subject", "Te invitaron a un panel de cajero"),
    (
        "team.mail_body",
        "Te invitaron a trabajar en el panel de cajero de un comercio. Abre este enlace para elegir tu nombre y contraseña:",
    ),
    (
        "team.mail_expiry",
        "El enlace funciona una vez, durante 7 días.",
    ),
    (
        "action.test_sent",
        "Evento de prueba encolado: recarga para ver su entrega abajo.",
    ),
    (
        "refusal.test_mode_only",
        "Las entregas de prueba solo se envían en modo de prueba: cambia a modo de prueba.",
    ),
    ("webhooks.test", "Enviar un evento de prueba"),
    (
        "webhooks.test_hint",
        "Un evento del tipo que elijas, con objeto {\"object\": \"test\"}, firmado y entregado solo a este endpoint.",
    ),
    ("webhooks.send_test", "Enviar evento de prueba"),
    ("webhooks.log", "Registro de entregas"),
    (
        "webhooks.log_hint",
        "Los últimos 50 intentos, del más reciente al más antiguo, con lo que respondió el endpoint.",
    ),
    ("team.change_role", "Cambiar rol"),
    ("team.remove", "Quitar"),
    (
        "team.confirm_remove",
        "Confirmo: este usuario sale de su sesión y ya no podrá ingresar",
    ),
    (
        "team.last_owner",
        "Un comercio conserva al menos un propietario: primero haz propietario a otra persona.",
    ),
    ("nav.onboarding", "Vinculación"),
    ("kyc.title", "Vinculación (conocimiento del cliente)"),
    (
        "kyc.hint",
        "Cuéntanos quién es tu empresa. El modo real se habilita cuando un operador la aprueba.",
    ),
    ("kyc.status_draft", "Borrador"),
    ("kyc.status_submitted", "Enviada"),
    ("kyc.status_in_review", "En revisión"),
    ("kyc.status_approved", "Aprobada"),
    ("kyc.status_rejected", "Rechazada"),
    ("kyc.status_needs_info", "Se necesita más información"),
    ("kyc.saved", "Guardado."),
    ("kyc.submitted", "Enviada: un operador la revisará."),
    (
        "kyc.incomplete",
        "Guardado, pero no enviado: completa los campos indicados.",
    ),
    (
        "kyc.not_editable",
        "La solicitud está en revisión y ya no se puede cambiar.",
    ),
    ("kyc.questions", "El operador pregunta"),
    ("kyc.decision", "Decisión"),
    ("kyc.submitted_at", "Último envío:"),
    ("kyc.missing", "Por completar"),
    ("kyc.application", "La solicitud"),
    ("kyc.company", "La empresa"),
    ("kyc.legal_name", "Razón social"),
    ("kyc.nit", "NIT con dígito de verificación"),
    ("kyc.company_type", "Tipo de sociedad"),
    ("kyc.company_sas", "S.A.S."),
    ("kyc.company_sa", "S.A."),
    ("kyc.company_ltda", "Ltda."),
    ("kyc.company_sca", "S.C.A."),
    ("kyc.company_scs", "S. en C.S."),
    ("kyc.company_eu", "E.U."),
    ("kyc.company_persona_natural", "Persona natural"),
    ("kyc.address", "Dirección"),
    ("kyc.municipality", "Municipio (código DANE)"),
    (
        "kyc.municipality_hint",
        "5 dígitos: 11001 Bogotá, 05001 Medellín, 76001 Cali.",
    ),
    ("kyc.activity", "Actividad económica"),
    ("kyc.website", "Sitio web"),
    ("kyc.representative", "Representante legal"),
    ("kyc.nationality", "Nacionalidad (código de 2 letras)"),
    ("kyc.owners", "Beneficiarios finales"),
    (
        "kyc.owners_hint",
        "Toda persona con el 25 % o más de la empresa; deja vacías las demás filas.",
    ),
    ("kyc.owner", "Beneficiario"),
    ("kyc.share", "Participación (%)"),
    ("kyc.expected", "Volumen esperado"),
    ("kyc.payins", "Recaudos esperados"),
    ("kyc.payouts", "Pagos esperados"),
    ("kyc.monthly_payins", "Recaudos al mes (COP)"),
    ("kyc.average_payin", "Recaudo promedio (COP)"),
    ("kyc.monthly_payouts", "Pagos al mes (COP)"),
    ("kyc.average_payout", "Pago promedio (COP)"),
    ("kyc.save", "Guardar"),
    ("kyc.submit", "Guardar y enviar"),
    (
        "home.onboarding_todo",
        "Completa tu vinculación para usar el modo real.",
    ),
    ("kyc.documents", "Documentos"),
    (
        "kyc.documents_hint",
        "RUT, certificado de Cámara de Comercio (de máximo 30 días), documento del representante legal y certificación bancaria: PDF, JPEG o PNG, hasta 10 MiB cada uno. Solo tus propietarios y los operadores de cajero pueden abrirlos.",
    ),
    ("kyc.file", "Archivo"),
    ("kyc.upload", "Subir"),
    ("kyc.uploaded", "Documento subido."),
    (
        "kyc.file_type",
        "Ese archivo no es PDF, JPEG ni PNG (se revisó su contenido, no su nombre).",
    ),
    (
        "kyc.file_size",
        "El archivo está vacío o pesa más de 10 MiB (o ya tienes 40 documentos).",
    ),
    ("kyc.document_kind", "Elige qué documento es."),
    ("kyc.doc_rut", "RUT"),
    (
        "kyc.doc_chamber_certificate",
        "Certificado de Cámara de Comercio",
    ),
    (
        "kyc.doc_representative_id",
        "Documento del representante legal",
    ),
    ("kyc.doc_bank_certificate", "Certificación bancaria"),
    ("kyc.issued_on", "Fecha de expedición"),
    (
        "kyc.issued_on_hint",
        "La que aparece en el certificado. Debe tener máximo 30 días cuando envíes la solicitud y cuando se apruebe.",
    ),
    (
        "kyc.issued_on_refused",
        "Escribe la fecha de expedición del certificado; no puede ser posterior a hoy.",
    ),
    (
        "kyc.certificate_too_old",
        "Ese certificado de Cámara de Comercio tiene más de 30 días: solicita uno nuevo y súbelo.",
    ),
    (
        "kyc.chamber_age",
        "Certificado de Cámara de Comercio de máximo 30 días, con su fecha de expedición",
    ),
    (
        "kyc.mail_subject_in_review",
        "Tu solicitud de vinculación a cajero está en revisión",
    ),
    (
        "kyc.mail_body_in_review",
        "Un operador empezó a revisar tu solicitud de vinculación. Te escribiremos cuando haya una decisión o si necesitamos más información.",
    ),
    (
        "kyc.mail_subject_needs_info",
        "Tu solicitud de vinculación a cajero necesita más información",
    ),
    (
        "kyc.mail_body_needs_info",
        "El operador que revisa tu solicitud de vinculación necesita más información. Responde en tu página de vinculación (corrige la solicitud o sube documentos) y envíala de nuevo.",
    ),
    (
        "kyc.mail_subject_approved",
        "Tu solicitud de vinculación a cajero fue aprobada",
    ),
    (
        "kyc.mail_body_approved",
        "Tu solicitud de vinculación fue aprobada: tu cuenta ya puede usar el modo real (crea una llave real en el panel).",
    ),
    (
        "kyc.mail_subject_rejected",
        "Tu solicitud de vinculación a cajero fue rechazada",
    ),
    (
        "kyc.mail_body_rejected",
        "Tu solicitud de vinculación fue rechazada.",
    ),
    ("kyc.mail_questions", "El operador pregunta:"),
    ("kyc.mail_reason", "Motivo:"),
    ("kyc.mail_link", "Tu página de vinculación:"),
    ("nav.privacy", "Privacidad"),
    ("privacy.title", "Privacidad y datos personales"),
    ("privacy.events_heading", "Datos personales en los eventos"),
    (
        "privacy.events_intro",
        "Los eventos (webhooks y GET /v1/events) muestran los números de documento y de teléfono de clientes y beneficiarios por sus últimos cuatro dígitos, sus nombres por sus iniciales y sus correos por la primera letra y el dominio. Los recaudos, los giros y las respuestas de la API los conservan completos.",
    ),
    ("privacy.now_masked", "Ahora: ocultos (lo predeterminado)."),
    (
        "privacy.now_full",
        "Ahora: datos personales completos en los eventos.",
    ),
    (
        "privacy.full_warning",
        "Activa los datos personales completos solo si tus sistemas los necesitan en los eventos: según la Ley 1581 de 2012 respondes por cada copia que recibes y guardas.",
    ),
    (
        "privacy.turn_on",
        "Enviar datos personales completos en los eventos",
    ),
    (
        "privacy.turn_off",
        "Ocultar los datos personales en los eventos",
    ),
    (
        "privacy.owners_only",
        "Solo los propietarios pueden cambiar esto.",
    ),
    (
        "privacy.saved",
        "Guardado: se aplica desde el próximo evento.",
    ),
    ("nav.risk", "Riesgo"),
    ("risk.title", "Riesgo"),
    ("risk.decisions", "Decisiones"),
    (
        "risk.decisions_hint",
        "Tus recaudos y giros retenidos para revisión o rechazados en este modo, del más reciente al más antiguo, con cada control que se activó y lo que vio. Cuando la API responde risk_denied, aquí ves qué regla rechazó la operación.",
    ),
    (
        "risk.decisions_none",
        "Ninguna operación fue retenida ni rechazada en este modo.",
    ),
    ("risk.when", "Cuándo"),
    ("risk.operation", "Operación"),
    ("risk.outcome", "Resultado"),
    ("risk.checks", "Controles activados"),
    ("risk.flow_payin", "Recaudo"),
    ("risk.flow_payout", "Giro"),
    ("risk.not_created", "(no se creó)"),
    ("risk.outcome_review", "Retenido para revisión"),
    ("risk.outcome_deny", "Rechazado"),
    ("risk.outcome_allow", "Permitido"),
    ("risk.action_review", "revisar"),
    ("risk.action_deny", "rechazar"),
    ("risk.action_alert", "alertar al operador"),
    ("risk.rules_version", "Versión de las reglas"),
    ("risk.blocklist", "Tu lista de bloqueo"),
    (
        "risk.blocklist_hint",
        "Documentos, teléfonos y nombres rechazados en tus propios recaudos y giros, en modo real y de prueba. El operador de la plataforma tiene una lista propia, que no se muestra aquí.",
    ),
    ("risk.blocklist_none", "Tu lista de bloqueo está vacía."),
    ("risk.kind", "Tipo"),
    ("risk.kind_document", "Documento"),
    ("risk.kind_phone", "Teléfono"),
    ("risk.kind_name", "Nombre"),
    ("risk.kind_other", "Otro"),
    ("risk.value", "Valor"),
    (
        "risk.value_hint",
        "Un documento se escribe TIPO:NÚMERO (CC:79876543; CC:79.876.543 es la misma entrada), un teléfono como número colombiano (300 123 4567), un nombre tal como viene: tildes, mayúsculas, orden y partículas no importan.",
    ),
    ("risk.reason", "Motivo"),
    ("risk.added_at", "Agregado"),
    ("risk.state", "Estado"),
    ("risk.in_force", "Vigente"),
    ("risk.removed", "Retirado"),
    ("risk.remove_reason", "Motivo del retiro"),
    ("risk.remove", "Retirar"),
    ("risk.add_heading", "Agregar a tu lista de bloqueo"),
    ("risk.add", "Bloquear"),
    (
        "risk.owners_only",
        "Solo los propietarios pueden cambiar la lista de bloqueo.",
    ),
    (
        "risk.done_added",
        "Agregado: tus operaciones con este valor se rechazan desde ahora.",
    ),
    (
        "risk.done_removed",
        "Retirado: tu lista ya no rechaza operaciones con este valor.",
    ),
    (
        "risk.reason_required",
        "Indica un motivo (de 1 a 2.000 caracteres).",
    ),
    ("risk.bad_kind", "Elige documento, teléfono o nombre."),
    (
        "risk.bad_document",
        "Escribe el documento como TIPO:NÚMERO con un número válido, por ejemplo CC:79876543.",
    ),
    (
        "risk.bad_phone",
        "Ese no es un número de teléfono colombiano.",
    ),
    (
        "risk.bad_counter",
        "Escribe el punto como RED:PUNTO, por ejemplo efecty:EF-BOG-001.",
    ),
    (
        "risk.bad_name",
        "Un nombre necesita letras y como máximo 200 caracteres.",
    ),
    (
        "risk.already_blocked",
        "Ese valor ya está en tu lista de bloqueo.",
    ),
    (
        "risk.no_such_entry",
        "Esa entrada no está vigente en tu lista de bloqueo.",
    ),
];

const ZH: &[(&str, &str)] = &[
    ("nav.webhooks", "Webhook"),
    ("webhooks.title", "Webhook 端点"),
    ("webhooks.new_secret", "端点的签名密钥"),
    ("webhooks.secret", "签名密钥"),
    ("webhooks.endpoints", "端点"),
    ("webhooks.events", "事件"),
    ("webhooks.rotate", "轮换密钥"),
    ("webhooks.delete", "删除"),
    ("webhooks.confirm_delete", "我知道此端点将不再接收任何事件"),
    ("webhooks.add", "添加端点"),
    ("webhooks.description", "描述（可选）"),
    ("webhooks.all_events", "接收所有事件；可通过 API 缩小范围。"),
    ("webhooks.url_refused", "该 URL 无法接收 webhook。"),
    ("webhooks.invalid", "请检查填写内容后重试。"),
    ("webhooks.too_many", "此模式下的端点数量已达上限。"),
    ("nav.analytics", "数据分析"),
    ("analytics.title", "数据分析"),
    ("analytics.period", "订单创建日期："),
    ("analytics.data", "数据"),
    ("analytics.per_day", "每日创建的付款凭证（按网络）"),
    ("analytics.payin_funnel", "付款凭证：创建 → 已支付"),
    ("analytics.payout_funnel", "取款码：创建 → 已领取"),
    ("analytics.vouchers", "付款凭证"),
    ("analytics.codes", "取款码"),
    ("analytics.rate_by_network", "各网络成功率"),
    ("analytics.rate_by_counter", "各网点成功率（最繁忙）"),
    ("analytics.time_to_pay", "支付用时"),
    ("analytics.time_to_collect", "领取用时"),
    ("analytics.under_15m", "15 分钟内"),
    ("analytics.under_1h", "15 分钟 – 1 小时"),
    ("analytics.under_6h", "1 – 6 小时"),
    ("analytics.under_24h", "6 – 24 小时"),
    ("analytics.under_72h", "24 – 72 小时"),
    ("analytics.under_other", "其他"),
    ("analytics.over_72h", "72 小时及以上"),
    ("nav.security", "安全"),
    ("totp.title", "两步验证"),
    ("totp.prompt", "请输入身份验证器应用中的 6 位验证码。"),
    ("totp.code", "验证码"),
    ("totp.verify", "验证"),
    ("totp.invalid", "验证码错误、已过期或已使用。"),
    ("totp.locked", "错误次数过多，请 15 分钟后再试。"),
    ("security.title", "安全"),
    ("security.two_factor", "两步验证（TOTP）"),
    (
        "security.enabled",
        "已开启：每次登录都需要身份验证器应用中的验证码。",
    ),
    (
        "security.disabled",
        "未开启。所有者使用正式模式前必须开启。",
    ),
    ("security.set_up", "设置两步验证"),
    (
        "security.scan",
        "请用身份验证器应用扫描此二维码，然后输入应用显示的验证码。",
    ),
    ("security.or_type", "或手动输入此密钥："),
    ("security.confirm", "确认并开启"),
    ("security.qr", "将此账户添加到身份验证器应用的二维码"),
    (
        "security.required_for_live",
        "使用正式模式前，请先在“安全”中开启两步验证。",
    ),
    ("nav.payouts", "现金付款"),
    ("payouts.title", "现金付款"),
    ("payouts.beneficiary", "收款人"),
    ("payouts.route_reason", "路由"),
    ("payouts.collected", "领取时间"),
    ("payouts.failure", "失败原因"),
    ("payouts.attempts", "网点领取记录"),
    ("payouts.counter", "网点"),
    ("payouts.outcome", "结果"),
    ("status.on_hold", "审核中"),
    ("status.available", "可领取"),
    ("status.collected", "已领取"),
    ("status.failed", "失败"),
    ("evidence.title", "网络报文"),
    (
        "evidence.hint",
        "与网络的每一次交互，按收发原样保存（已去除密钥）。",
    ),
    ("evidence.request", "请求"),
    ("evidence.response", "响应"),
    ("nav.keys", "API 密钥"),
    ("mode.switch_to_live", "切换到正式模式"),
    ("mode.switch_to_test", "切换到测试模式"),
    ("keys.title", "API 密钥"),
    ("keys.new_heading", "您的新密钥"),
    (
        "keys.shown_once",
        "请立即复制：密钥仅显示这一次，之后无法再次查看。",
    ),
    ("keys.secret", "密钥"),
    ("keys.list", "密钥列表"),
    ("keys.prefix", "密钥"),
    ("keys.mode", "模式"),
    ("keys.last_used", "最近使用"),
    ("keys.revoked", "已吊销"),
    ("keys.active", "有效"),
    ("keys.actions", "操作"),
    ("keys.roll", "轮换"),
    ("keys.revoke", "吊销"),
    ("keys.confirm_revoke", "我知道使用此密钥的请求将会失败"),
    ("keys.confirm_needed", "请勾选确认框以吊销密钥。"),
    ("keys.create", "创建密钥"),
    (
        "keys.live_not_allowed",
        "正式模式需要商户先通过审核（KYC）。",
    ),
    ("app.name", "cajero 商户后台"),
    ("nav.home", "首页"),
    ("nav.payins", "现金收款"),
    ("nav.audit", "审计日志"),
    ("nav.sign_out", "退出登录"),
    ("nav.language", "语言"),
    ("nav.skip", "跳到正文"),
    ("mode.test", "测试模式"),
    ("mode.live", "正式模式"),
    ("signin.title", "登录"),
    ("signin.email", "电子邮箱"),
    ("signin.password", "密码"),
    ("signin.submit", "登录"),
    ("signin.no_account", "还没有账户？"),
    ("signin.invalid", "邮箱或密码错误。"),
    ("signin.locked", "登录失败次数过多，请稍后再试，解锁时间："),
    (
        "signin.throttled",
        "您的地址尝试次数过多，请等待一分钟后重试。",
    ),
    ("signin.suspended", "该商户已被暂停，请联系运营方。"),
    ("signup.title", "创建商户账户"),
    ("signup.company", "公司名称"),
    ("signup.name", "您的姓名"),
    ("signup.password_hint", "12 至 128 个字符。"),
    ("signup.submit", "创建账户"),
    ("signup.have_account", "已有账户？"),
    ("signup.email_taken", "该邮箱已注册。"),
    ("signup.invalid_email", "请输入有效的电子邮箱。"),
    (
        "signup.invalid_name",
        "请输入名称（1 至 100 个字符；公司名称 1 至 120 个字符）。",
    ),
    ("signup.bad_password", "密码须为 12 至 128 个字符。"),
    ("error.csrf", "表单已过期，请刷新页面后重试。"),
    ("error.not_found", "未找到。"),
    ("error.forbidden", "您的角色无权执行此操作。"),
    ("error.internal", "系统出错，请稍后重试。"),
    ("home.title", "首页"),
    ("home.welcome", "欢迎"),
    ("home.balance", "余额"),
    ("home.available", "可用"),
    ("home.pending", "待结算"),
    ("home.reserved", "为付款预留"),
    ("home.recent_payins", "最新收款"),
    ("home.all_payins", "全部收款"),
    ("home.none", "暂无数据。"),
    ("payins.title", "现金收款"),
    ("payins.filter", "筛选"),
    ("payins.status", "状态"),
    ("payins.any_status", "全部状态"),
    ("payins.id", "编号"),
    ("payins.amount", "金额"),
    ("payins.reference", "参考号"),
    ("payins.network", "网络"),
    ("payins.created", "创建时间"),
    ("payins.paid_at", "支付时间"),
    ("payins.expires", "到期时间"),
    ("payins.code", "付款码"),
    ("payins.fee", "手续费"),
    ("payins.refunded", "已退款"),
    ("payins.voucher", "付款凭证页面"),
    ("payins.newer", "较新"),
    ("payins.older", "较早"),
    ("payins.details", "详情"),
    ("payins.ledger", "账务分录"),
    ("payins.ledger_code", "分录"),
    ("payins.debit", "借方"),
    ("payins.credit", "贷方"),
    ("payins.when", "时间"),
    ("status.pending", "待支付"),
    ("status.paid", "已支付"),
    ("status.expired", "已过期"),
    ("status.canceled", "已取消"),
    ("audit.title", "审计日志"),
    ("audit.who", "操作人"),
    ("audit.what", "操作"),
    ("audit.object", "对象"),
    ("audit.from", "来源地址"),
    ("audit.when", "时间"),
    ("action.refunded", "已创建退款。"),
    ("action.canceled", "付款已取消：该取款码不能再领取。"),
    ("action.resent", "事件已重新排队发送。"),
    ("action.refused", "cajero 拒绝了此操作。"),
    (
        "refusal.refund_exceeds_remaining",
        "超过了可退款的剩余金额。",
    ),
    ("refusal.payin_not_refundable", "只有已支付的收款才能退款。"),
    ("refusal.amount_invalid", "请输入大于零的整数比索金额。"),
    ("refusal.insufficient_balance", "可用余额不足。"),
    (
        "refusal.risk_denied",
        "风控检查拒绝了此操作：风控页面列出了相应规则。",
    ),
    (
        "refusal.parameter_missing",
        "缺少必填项：现金取款需要填写收款人姓名和证件。",
    ),
    (
        "refusal.parameter_invalid",
        "有字段无效：请检查姓名和证件号码。",
    ),
    ("refusal.payout_not_cancelable", "此付款已无法取消。"),
    (
        "refusal.network_unavailable",
        "现金网络无响应，请几分钟后重试。",
    ),
    ("refusal.in_progress", "此操作仍在处理中，请稍后刷新页面。"),
    ("refusal.confirm_needed", "请先勾选确认框。"),
    ("timeline.title", "时间线：事件与 Webhook 投递"),
    ("timeline.resend", "重新发送"),
    ("timeline.no_endpoint", "没有 Webhook 端点订阅此事件。"),
    ("timeline.endpoint", "端点"),
    ("timeline.attempts", "尝试次数"),
    ("timeline.last_attempt", "最近一次尝试"),
    ("timeline.answer", "响应"),
    ("refund.title", "退还此笔收款"),
    ("refund.amount", "金额（COP）"),
    ("refund.method", "方式"),
    ("refund.bank_transfer", "银行转账"),
    ("refund.cash_pickup", "现金取款"),
    ("refund.reason", "原因（可选）"),
    ("refund.beneficiary", "现金取款：领取人"),
    ("refund.name", "证件上的全名"),
    ("refund.document_type", "证件类型"),
    ("refund.document_number", "证件号码"),
    ("refund.confirm", "我确认此退款"),
    ("refund.submit", "退款"),
    ("refund.list", "退款"),
    ("payouts.refund", "支付的退款"),
    ("payouts.confirm_cancel", "我确认：该取款码将无法再领取"),
    ("payouts.cancel", "取消付款"),
    ("nav.refunds", "退款"),
    ("nav.balance", "余额"),
    ("nav.settlements", "结算"),
    ("nav.events", "事件"),
    ("lists.refunds_hint", "您所有收款的退款，按时间倒序。"),
    ("lists.events", "事件"),
    (
        "lists.events_hint",
        "您的对象发生的所有事情，与发送到 Webhook 端点的内容相同。",
    ),
    ("lists.type", "类型"),
    ("lists.object", "对象"),
    ("lists.balance_transactions", "余额交易"),
    (
        "lists.balance_transactions_hint",
        "余额的每一笔变动，包括手续费和可用日期。",
    ),
    ("lists.net", "净额"),
    ("lists.available_on", "可用日期"),
    ("lists.source", "来源"),
    ("lists.settlements", "结算"),
    (
        "lists.settlements_hint",
        "cajero 每日向您结算的款项，每笔附 CSV 对账单。",
    ),
    ("lists.settlement_date", "结算日期"),
    ("lists.gross", "总额"),
    ("lists.settled", "结算金额"),
    ("lists.lines", "明细数"),
    ("lists.statement", "对账单"),
    ("home.volume", "交易量"),
    (
        "home.volume_hint",
        "该期间创建的订单：已支付或已领取的数量及金额（比索）。",
    ),
    ("home.period", "期间"),
    ("home.today", "今天"),
    ("home.this_month", "本月"),
    ("home.vouchers_paid", "已支付凭证"),
    ("home.paid_in", "收款金额"),
    ("home.codes_collected", "已领取取款码"),
    ("home.paid_out", "付款金额"),
    ("home.open", "待处理"),
    ("home.nothing_open", "没有未处理的警报或对账异常。"),
    ("home.alerts", "未处理警报"),
    ("home.exceptions", "未处理对账异常"),
    (
        "analytics.volume_in_per_day",
        "每日收款金额（比索），按网络（当日创建的凭证）",
    ),
    (
        "analytics.volume_out_per_day",
        "每日领取金额（比索），按网络（当日创建的取款码）",
    ),
    ("nav.team", "团队"),
    ("team.title", "团队"),
    ("team.members", "用户"),
    ("team.role", "角色"),
    ("team.role_owner", "所有者"),
    ("team.role_developer", "开发者"),
    ("team.role_analyst", "分析师（只读）"),
    (
        "team.roles_hint",
        "所有者拥有全部权限；开发者管理 API 密钥和 Webhook；分析师只能查看。",
    ),
    ("team.pending", "未接受的邀请"),
    ("team.expires", "链接到期"),
    ("team.revoke", "撤回"),
    ("team.confirm_revoke", "我确认：该链接将失效"),
    ("team.invite", "邀请用户"),
    ("team.invalid_role", "请选择角色。"),
    ("team.too_many", "该商户的未接受邀请已达上限（50）。"),
    ("team.too_many_users", "该商户的用户数已达上限（200）。"),
    ("team.sent", "邀请已发送至"),
    ("team.mail_failed", "邮件发送失败：请自行转发此链接。"),
    ("team.link_heading", "邀请链接"),
    (
        "team.link_hint",
        "未配置邮件服务器：请自行将此一次性链接发送给对方。链接仅可使用一次，有效期 7 天，且只显示这一次。",
    ),
    ("team.link", "一次性链接"),
    (
        "team.link_invalid",
        "此邀请链接无效：可能已被使用、撤回或过期。请索取新的链接。",
    ),
    ("team.accept_title", "加入您在 cajero 的团队"),
    ("team.accept", "创建我的账户"),
    ("team.mail_subject", "您被邀请加入 cajero 控制台"),
    (
        "team.mail_body",
        "您被邀请使用某商户的 cajero 控制台。请打开以下链接设置您的姓名和密码：",
    ),
    ("team.mail_expiry", "该链接仅可使用一次，有效期 7 天。"),
    (
        "action.test_sent",
        "测试事件已排队：刷新页面查看下方的投递记录。",
    ),
    (
        "refusal.test_mode_only",
        "测试投递仅在测试模式下发送：请切换到测试模式。",
    ),
    ("webhooks.test", "发送测试事件"),
    (
        "webhooks.test_hint",
        "所选类型的事件，其对象为 {\"object\": \"test\"}，经签名后仅投递到此端点。",
    ),
    ("webhooks.send_test", "发送测试事件"),
    ("webhooks.log", "投递日志"),
    (
        "webhooks.log_hint",
        "最近 50 次尝试（按时间倒序）及端点的响应。",
    ),
    ("team.change_role", "更改角色"),
    ("team.remove", "移除"),
    ("team.confirm_remove", "我确认：该用户将被登出且无法再登录"),
    (
        "team.last_owner",
        "商户至少需要保留一名所有者：请先将其他人设为所有者。",
    ),
    ("nav.onboarding", "入驻审核"),
    ("kyc.title", "商户入驻（KYC）"),
    (
        "kyc.hint",
        "请填写贵公司的信息。运营人员审核通过后即可开通正式模式。",
    ),
    ("kyc.status_draft", "草稿"),
    ("kyc.status_submitted", "已提交"),
    ("kyc.status_in_review", "审核中"),
    ("kyc.status_approved", "已通过"),
    ("kyc.status_rejected", "已拒绝"),
    ("kyc.status_needs_info", "需要补充信息"),
    ("kyc.saved", "已保存。"),
    ("kyc.submitted", "已提交：运营人员将进行审核。"),
    ("kyc.incomplete", "已保存但未提交：请补全所列字段。"),
    ("kyc.not_editable", "申请正在审核中，无法再修改。"),
    ("kyc.questions", "运营人员的问题"),
    ("kyc.decision", "审核结论"),
    ("kyc.submitted_at", "最近提交："),
    ("kyc.missing", "待补全"),
    ("kyc.application", "申请"),
    ("kyc.company", "公司信息"),
    ("kyc.legal_name", "公司法定名称（razón social）"),
    ("kyc.nit", "NIT（含校验位）"),
    ("kyc.company_type", "公司类型"),
    ("kyc.company_sas", "S.A.S.（简化股份公司）"),
    ("kyc.company_sa", "S.A.（股份公司）"),
    ("kyc.company_ltda", "Ltda.（有限责任公司）"),
    ("kyc.company_sca", "S.C.A.（股份两合公司）"),
    ("kyc.company_scs", "S. en C.S.（两合公司）"),
    ("kyc.company_eu", "E.U.（一人公司）"),
    (
        "kyc.company_persona_natural",
        "个体经营者（persona natural）",
    ),
    ("kyc.address", "地址"),
    ("kyc.municipality", "市镇（DANE 代码）"),
    (
        "kyc.municipality_hint",
        "5 位数字：11001 波哥大，05001 麦德林，76001 卡利。",
    ),
    ("kyc.activity", "经营活动"),
    ("kyc.website", "网站"),
    ("kyc.representative", "法定代表人"),
    ("kyc.nationality", "国籍（两位字母代码）"),
    ("kyc.owners", "最终受益所有人"),
    (
        "kyc.owners_hint",
        "持有公司 25% 及以上股份的所有人；其余行留空。",
    ),
    ("kyc.owner", "受益人"),
    ("kyc.share", "持股比例（%）"),
    ("kyc.expected", "预计交易量"),
    ("kyc.payins", "预计收款"),
    ("kyc.payouts", "预计付款"),
    ("kyc.monthly_payins", "每月收款（COP）"),
    ("kyc.average_payin", "平均每笔收款（COP）"),
    ("kyc.monthly_payouts", "每月付款（COP）"),
    ("kyc.average_payout", "平均每笔付款（COP）"),
    ("kyc.save", "保存"),
    ("kyc.submit", "保存并提交"),
    ("home.onboarding_todo", "完成入驻审核后即可使用正式模式。"),
    ("kyc.documents", "文件"),
    (
        "kyc.documents_hint",
        "RUT、商会注册证明（30 天内开具）、法定代表人证件及银行账户证明：PDF、JPEG 或 PNG，每个不超过 10 MiB。仅贵公司所有者及 cajero 运营人员可查看。",
    ),
    ("kyc.file", "文件"),
    ("kyc.upload", "上传"),
    ("kyc.uploaded", "文件已上传。"),
    (
        "kyc.file_type",
        "该文件不是 PDF、JPEG 或 PNG（检查的是内容而非文件名）。",
    ),
    (
        "kyc.file_size",
        "文件为空或超过 10 MiB（或已有 40 个文件）。",
    ),
    ("kyc.document_kind", "请选择文件类型。"),
    ("kyc.doc_rut", "RUT（税务登记）"),
    ("kyc.doc_chamber_certificate", "商会注册证明"),
    ("kyc.doc_representative_id", "法定代表人证件"),
    ("kyc.doc_bank_certificate", "银行账户证明"),
    ("kyc.issued_on", "开具日期（fecha de expedición）"),
    (
        "kyc.issued_on_hint",
        "以证明上所印日期为准。提交申请时及审核通过时，距开具日期均不得超过 30 天。",
    ),
    (
        "kyc.issued_on_refused",
        "请填写证明的开具日期（fecha de expedición），且不得晚于今天。",
    ),
    (
        "kyc.certificate_too_old",
        "该商会注册证明开具已超过 30 天：请重新申请并上传。",
    ),
    ("kyc.chamber_age", "30 天内开具的商会注册证明（含开具日期）"),
    (
        "kyc.mail_subject_in_review",
        "您的 cajero 入驻申请正在审核中",
    ),
    (
        "kyc.mail_body_in_review",
        "运营人员已开始审核您的入驻申请。审核有结论或需要补充信息时，我们会再次通知您。",
    ),
    (
        "kyc.mail_subject_needs_info",
        "您的 cajero 入驻申请需要补充信息",
    ),
    (
        "kyc.mail_body_needs_info",
        "审核您入驻申请的运营人员需要更多信息。请在入驻页面作答（修改申请或上传文件）后重新提交。",
    ),
    ("kyc.mail_subject_approved", "您的 cajero 入驻申请已通过"),
    (
        "kyc.mail_body_approved",
        "您的入驻申请已通过：您的账户现在可以使用正式模式（请在控制台创建正式密钥）。",
    ),
    ("kyc.mail_subject_rejected", "您的 cajero 入驻申请已被拒绝"),
    ("kyc.mail_body_rejected", "您的入驻申请已被拒绝。"),
    ("kyc.mail_questions", "运营人员的问题："),
    ("kyc.mail_reason", "原因："),
    ("kyc.mail_link", "您的入驻页面："),
    ("nav.privacy", "隐私"),
    ("privacy.title", "隐私与个人数据"),
    ("privacy.events_heading", "事件中的个人数据"),
    (
        "privacy.events_intro",
        "事件（webhook 与 GET /v1/events）中，客户和收款人的证件号码与电话号码只显示后四位，姓名只显示首字母，电子邮件只显示首字母和域名。现金收款、现金付款及 API 的响应保留完整数据。",
    ),
    ("privacy.now_masked", "当前：已遮盖（默认）。"),
    ("privacy.now_full", "当前：事件中包含完整个人数据。"),
    (
        "privacy.full_warning",
        "仅当您的系统需要从事件中获取完整个人数据时才开启：根据哥伦比亚 2012 年第 1581 号法律，您须对收到并保存的每一份副本负责。",
    ),
    ("privacy.turn_on", "在事件中发送完整个人数据"),
    ("privacy.turn_off", "在事件中遮盖个人数据"),
    ("privacy.owners_only", "只有所有者可以更改此设置。"),
    ("privacy.saved", "已保存：从下一个事件起生效。"),
    ("nav.risk", "风控"),
    ("risk.title", "风控"),
    ("risk.decisions", "风控决定"),
    (
        "risk.decisions_hint",
        "在此模式下被暂扣审核或被拒绝的收款和付款，按时间从新到旧排列，附有每项触发的检查及其所见。当 API 返回 risk_denied 时，可在此查看是哪条规则拒绝了该操作。",
    ),
    ("risk.decisions_none", "此模式下没有被暂扣或拒绝的操作。"),
    ("risk.when", "时间"),
    ("risk.operation", "操作"),
    ("risk.outcome", "结果"),
    ("risk.checks", "触发的检查"),
    ("risk.flow_payin", "收款"),
    ("risk.flow_payout", "付款"),
    ("risk.not_created", "（未创建）"),
    ("risk.outcome_review", "暂扣待审核"),
    ("risk.outcome_deny", "已拒绝"),
    ("risk.outcome_allow", "已允许"),
    ("risk.action_review", "审核"),
    ("risk.action_deny", "拒绝"),
    ("risk.action_alert", "提醒运营方"),
    ("risk.rules_version", "规则集版本"),
    ("risk.blocklist", "您的黑名单"),
    (
        "risk.blocklist_hint",
        "对您自己的收款和付款拒绝的证件、电话和姓名，适用于正式和测试模式。平台运营方另有自己的名单，不在此显示。",
    ),
    ("risk.blocklist_none", "您的黑名单为空。"),
    ("risk.kind", "类型"),
    ("risk.kind_document", "证件"),
    ("risk.kind_phone", "电话"),
    ("risk.kind_name", "姓名"),
    ("risk.kind_other", "其他"),
    ("risk.value", "值"),
    (
        "risk.value_hint",
        "证件写作 类型:号码（CC:79876543；CC:79.876.543 是同一条目），电话写作哥伦比亚号码（300 123 4567），姓名照原样填写：重音、大小写、顺序和虚词均不影响。",
    ),
    ("risk.reason", "原因"),
    ("risk.added_at", "添加于"),
    ("risk.state", "状态"),
    ("risk.in_force", "生效中"),
    ("risk.removed", "已移除"),
    ("risk.remove_reason", "移除原因"),
    ("risk.remove", "移除"),
    ("risk.add_heading", "添加到您的黑名单"),
    ("risk.add", "拉黑"),
    ("risk.owners_only", "只有所有者可以更改黑名单。"),
    (
        "risk.done_added",
        "已添加：从现在起，您带有此值的操作将被拒绝。",
    ),
    (
        "risk.done_removed",
        "已移除：您的名单不再拒绝带有此值的操作。",
    ),
    ("risk.reason_required", "请填写原因（1 至 2,000 个字符）。"),
    ("risk.bad_kind", "请选择证件、电话或姓名。"),
    (
        "risk.bad_document",
        "请将证件写作 类型:号码，且号码有效，例如 CC:79876543。",
    ),
    ("risk.bad_phone", "这不是哥伦比亚电话号码。"),
    (
        "risk.bad_counter",
        "网点请写成 网络:网点编号，例如 efecty:EF-BOG-001。",
    ),
    ("risk.bad_name", "姓名须包含字母，且最多 200 个字符。"),
    ("risk.already_blocked", "该值已在您的黑名单中。"),
    ("risk.no_such_entry", "该条目不在您的黑名单中生效。"),
];

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn keys(table: &[(&'static str, &'static str)]) -> BTreeSet<&'static str> {
        let set: BTreeSet<_> = table.iter().map(|(k, _)| *k).collect();
        assert_eq!(set.len(), table.len(), "a key is listed twice");
        set
    }

    #[test]
    fn every_language_has_every_key_and_no_empty_text() {
        let en = keys(EN);
        for (name, table) in [("es", ES), ("zh", ZH)] {
            let other = keys(table);
            let missing: Vec<_> = en.difference(&other).collect();
            let extra: Vec<_> = other.difference(&en).collect();
            assert!(missing.is_empty(), "{name} lacks {missing:?}");
            assert!(extra.is_empty(), "{name} has keys English lacks: {extra:?}");
        }
        for table in [EN, ES, ZH] {
            for (k, v) in table {
                assert!(!v.trim().is_empty(), "{k} is empty");
            }
        }
    }

    #[test]
    fn every_key_a_template_asks_for_exists() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/templates/dashboard");
        let en = keys(EN);
        let mut asked = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            for piece in text.split("t.get(\"").skip(1) {
                let key = piece.split('"').next().unwrap();
                assert!(en.contains(key), "{} asks for {key:?}", path.display());
                asked += 1;
            }
        }
        assert!(asked > 20, "the templates ask for only {asked} keys");
    }

    #[test]
    fn the_browser_language_is_chosen_by_quality() {
        assert_eq!(Locale::from_accept_language(None), Locale::En);
        assert_eq!(
            Locale::from_accept_language(Some("es-CO,es;q=0.9")),
            Locale::Es
        );
        assert_eq!(
            Locale::from_accept_language(Some("fr, zh-CN;q=0.8, en;q=0.5")),
            Locale::Zh
        );
        assert_eq!(Locale::from_accept_language(Some("de, fr")), Locale::En);
        assert_eq!(
            Locale::from_accept_language(Some("es;q=0, en;q=0.1")),
            Locale::En
        );
        assert_eq!(Locale::parse("ZH_cn"), Some(Locale::Zh));
    }

    #[test]
    fn amounts_are_written_the_way_each_language_writes_them() {
        assert_eq!(Locale::Es.money(150_000, "COP"), "$ 150.000");
        assert_eq!(Locale::En.money(150_000, "COP"), "COP 150,000");
        assert_eq!(Locale::Zh.money(-1_234_567, "COP"), "-COP 1,234,567");
        assert_eq!(Locale::Es.money(123_456, "USD"), "USD 1.234,56");
        assert_eq!(Locale::En.money(5, "USD"), "USD 0.05");
    }
}
