//! Telling the operator: the alerts table is the outbox. Every raise, reopening and
//! resolution leaves the alert's notification `pending`, due now or once the cool-down since
//! the last one has passed; this worker (one instance at a time, under a worker lease) sends
//! it to every channel: always an `ALERT …` log line, and an incoming webhook and e-mail when
//! configured. A channel that failed is retried with backoff ([`retry_delay`]) up to
//! [`NOTIFY_ATTEMPTS_MAX`] attempts; one that took the notification is not sent it again.

use std::time::Duration;

use anyhow::Context as _;
use cajero_store::alerts::{self as store, AlertRow};
use cajero_store::{Store, StoreError};
use jiff::{SignedDuration, Timestamp};
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::config::{AlertsConfig, SmtpConfig, SmtpSecurity};
use crate::AppState;
use crate::workers::{LoopPacing, Worker};

/// The worker lease's name.
pub const LEASE: &str = "alerts_notifier";
/// How long a step's lease lasts; a step takes seconds.
const LEASE_SECONDS: i64 = 60;
/// Notifications handled per step at most.
pub const BATCH_MAX: i64 = 50;
/// Attempts of one notification before it is given up as `failed` (about a day with
/// [`retry_delay`]).
pub const NOTIFY_ATTEMPTS_MAX: i64 = 30;
/// The longest wait between two attempts.
const RETRY_DELAY_S_MAX: i64 = 3_600;
/// The first wait after a failure.
const RETRY_DELAY_S_FIRST: i64 = 30;
/// How long one send may take (webhook request, SMTP session).
const SEND_TIMEOUT_MS: u64 = 10_000;
/// The worker's pace: an alert reaches the operator within seconds.
pub const PACING: LoopPacing = LoopPacing {
    idle_sleep: Duration::from_secs(5),
    error_backoff: Duration::from_secs(30),
};

/// The wait before attempt `failed + 1` after `failed` failed attempts: 30 s, doubling, at
/// most an hour.
pub fn retry_delay(failed: i64) -> SignedDuration {
    let exponent = u32::try_from(failed.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
    let seconds = RETRY_DELAY_S_FIRST
        .saturating_mul(1_i64 << exponent)
        .min(RETRY_DELAY_S_MAX);
    SignedDuration::from_secs(seconds)
}

/// The operator's channels.
#[derive(Debug)]
pub struct Notifier {
    webhook_url: Option<String>,
    http: reqwest::Client,
    smtp: Option<Smtp>,
}

struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    to: Vec<Mailbox>,
}

impl std::fmt::Debug for Smtp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Smtp").field("to", &self.to.len()).finish()
    }
}

/// What one step did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct NotifyStats {
    /// Notifications that reached every channel.
    pub sent: usize,
    /// Notifications with nothing new to say (a flap that ended where it started).
    pub unchanged: usize,
    /// Notifications a channel refused (retried later, or given up).
    pub failed: usize,
}

impl Notifier {
    /// The channels `config` describes.
    pub fn new(config: &AlertsConfig) -> anyhow::Result<Notifier> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(SEND_TIMEOUT_MS))
            .build()
            .context("building the alerts webhook client")?;
        let smtp = config.smtp.as_ref().map(smtp_transport).transpose()?;
        Ok(Notifier {
            webhook_url: config.webhook_url.as_ref().map(|u| u.expose().to_string()),
            http,
            smtp,
        })
    }

    /// Sends the notifications due at `now` (tests call this directly; the worker under its
    /// lease).
    pub async fn run_once(&self, store: &Store, now: Timestamp) -> Result<NotifyStats, StoreError> {
        let due = store
            .read(move |mut c| {
                Box::pin(
                    async move { store::take_pending_notifications(&mut c, now, BATCH_MAX).await },
                )
            })
            .await?;
        let mut stats = NotifyStats::default();
        for alert in due {
            if alert.notified_status.as_deref() == Some(alert.status.as_str()) {
                store
                    .write(move |mut c| {
                        Box::pin(async move { store::mark_unchanged(&mut c, &alert).await })
                    })
                    .await?;
                stats.unchanged += 1;
                continue;
            }
            if alert.notify_attempts == 0 {
                log_line(&alert);
            }
            let (done, errors) = self.send(&alert).await;
            if errors.is_empty() {
                store
                    .write(move |mut c| {
                        Box::pin(async move { store::mark_notified(&mut c, &alert, now).await })
                    })
                    .await?;
                stats.sent += 1;
                continue;
            }
            stats.failed += 1;
            let attempts = alert.notify_attempts + 1;
            let next = (attempts < NOTIFY_ATTEMPTS_MAX)
                .then(|| now.checked_add(retry_delay(attempts)).unwrap_or(now));
            let error = errors.join("; ");
            tracing::warn!(alert = %alert.id, attempts, %error, retry = next.is_some(), "alert notification failed");
            let done = done.join(",");
            store
                .write(move |mut c| {
                    Box::pin(async move {
                        store::mark_notify_failed(&mut c, &alert.id, &done, &error, next).await
                    })
                })
                .await?;
        }
        Ok(stats)
    }

    /// Sends to every channel that has not taken it yet: the channels that took it, and the
    /// errors of those that did not.
    async fn send(&self, alert: &AlertRow) -> (Vec<&'static str>, Vec<String>) {
        let mut done: Vec<&'static str> = alert
            .notify_done
            .split(',')
            .filter_map(|c| match c {
                "webhook" => Some("webhook"),
                "email" => Some("email"),
                _ => None,
            })
            .collect();
        let mut errors = Vec::new();
        let text = summary(alert);
        if let Some(url) = &self.webhook_url
            && !done.contains(&"webhook")
        {
            match self.post_webhook(url, &text).await {
                Ok(()) => done.push("webhook"),
                Err(e) => errors.push(format!("webhook: {e}")),
            }
        }
        if let Some(smtp) = &self.smtp
            && !done.contains(&"email")
        {
            match send_mail(smtp, alert, &text).await {
                Ok(()) => done.push("email"),
                Err(e) => errors.push(format!("email: {e}")),
            }
        }
        (done, errors)
    }

    async fn post_webhook(&self, url: &str, text: &str) -> Result<(), String> {
        let response = self
            .http
            .post(url)
            .json(&serde_json::json!({ "text": text }))
            .send()
            .await
            .map_err(|e| e.without_url().to_string())?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!("answered {}", response.status()))
        }
    }
}

fn smtp_transport(config: &SmtpConfig) -> anyhow::Result<Smtp> {
    let builder = match config.security {
        SmtpSecurity::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host),
        SmtpSecurity::Starttls => {
            AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.host)
                .context("alerts.smtp: preparing STARTTLS")?
        }
        SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&config.host)
            .context("alerts.smtp: preparing TLS")?,
    };
    let mut builder = builder
        .port(config.port())
        .timeout(Some(Duration::from_millis(SEND_TIMEOUT_MS)));
    if let (Some(user), Some(password)) = (&config.username, &config.password) {
        builder = builder.credentials(Credentials::new(
            user.clone(),
            password.expose().to_string(),
        ));
    }
    let from = config
        .from
        .parse()
        .context("alerts.smtp.from is not an address")?;
    let to = config
        .to
        .iter()
        .map(|t| t.parse::<Mailbox>())
        .collect::<Result<Vec<_>, _>>()
        .context("alerts.smtp.to holds something that is not an address")?;
    Ok(Smtp {
        transport: builder.build(),
        from,
        to,
    })
}

async fn send_mail(smtp: &Smtp, alert: &AlertRow, text: &str) -> Result<(), String> {
    let mut message = Message::builder()
        .from(smtp.from.clone())
        .subject(text.chars().take(150).collect::<String>());
    for to in &smtp.to {
        message = message.to(to.clone());
    }
    let body = format!(
        "{text}\n\nalert: {}\nmode: {}\nseverity: {}\noccurrences: {}\ndetails: {}\n",
        alert.id,
        if alert.livemode { "live" } else { "test" },
        alert.severity,
        alert.occurrences,
        alert.details,
    );
    let message = message
        .header(ContentType::TEXT_PLAIN)
        .body(body)
        .map_err(|e| e.to_string())?;
    smtp.transport
        .send(message)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Sends one plain-text message to `to` through the relay `config` describes, from its
/// `from` address (its `to` list is not used): the dashboard's invitations.
pub async fn send_through(
    config: &SmtpConfig,
    to: &str,
    subject: &str,
    body: String,
) -> Result<(), String> {
    let smtp = smtp_transport(config).map_err(|e| format!("{e:#}"))?;
    let to: Mailbox = to.parse().map_err(|e| format!("recipient: {e}"))?;
    let message = Message::builder()
        .from(smtp.from.clone())
        .to(to)
        .subject(subject.chars().take(150).collect::<String>())
        .header(ContentType::TEXT_PLAIN)
        .body(body)
        .map_err(|e| e.to_string())?;
    smtp.transport
        .send(message)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// One line for people: state, severity, code, subject, whom it concerns, and the message.
pub fn summary(alert: &AlertRow) -> String {
    let state = if alert.status == "open" {
        "OPEN"
    } else {
        "RESOLVED"
    };
    let whom = alert.merchant_id.as_deref().unwrap_or("platform-wide");
    let mode = if alert.livemode { "live" } else { "test" };
    let mut line = format!(
        "[cajero {mode}] {state} {} {} on {} ({whom}): {}",
        alert.severity, alert.code, alert.subject, alert.message
    );
    if let Some(resolution) = alert.resolution.as_deref().filter(|_| state == "RESOLVED") {
        line.push_str(&format!(" — resolved: {resolution}"));
    }
    line
}

/// The log line every notification gets: error for critical, warn otherwise.
fn log_line(alert: &AlertRow) {
    let text = summary(alert);
    if alert.severity == "critical" && alert.status == "open" {
        tracing::error!(alert = %alert.id, code = %alert.code, subject = %alert.subject, "ALERT {text}");
    } else {
        tracing::warn!(alert = %alert.id, code = %alert.code, subject = %alert.subject, "ALERT {text}");
    }
}

/// The worker around [`Notifier::run_once`].
#[derive(Debug)]
pub struct NotifierWorker {
    /// The server's state.
    pub state: AppState,
    /// The channels.
    pub notifier: Notifier,
}

impl Worker for NotifierWorker {
    fn name(&self) -> &'static str {
        "alerts_notifier"
    }

    async fn step(&self) -> anyhow::Result<usize> {
        let now = self.state.clock.now();
        if !crate::workers::take_lease(&self.state, LEASE, now, LEASE_SECONDS).await? {
            return Ok(0);
        }
        let stats = self.notifier.run_once(&self.state.store, now).await?;
        Ok(stats.sent + stats.unchanged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_wait_30_seconds_doubling_up_to_an_hour() {
        assert_eq!(retry_delay(1).as_secs(), 30);
        assert_eq!(retry_delay(2).as_secs(), 60);
        assert_eq!(retry_delay(3).as_secs(), 120);
        assert_eq!(retry_delay(8).as_secs(), 3_600);
        assert_eq!(retry_delay(1_000).as_secs(), 3_600);
    }
}
