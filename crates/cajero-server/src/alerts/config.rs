//! `[alerts]`: the cool-down and the operator's channels (an incoming webhook, e-mail).

use serde::{Deserialize, Serialize};

use crate::config::Secret;

/// Alerts and how the operator hears of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertsConfig {
    /// Minutes after which an alert that was resolved and is raised again is a new alert
    /// rather than the old one reopened, and the least time between two notifications of one
    /// alert to the operator.
    pub cooldown_minutes: u32,
    /// An incoming-webhook URL (Slack, Teams or anything that takes `{"text": "…"}`).
    pub webhook_url: Option<Secret>,
    /// E-mail over SMTP.
    pub smtp: Option<SmtpConfig>,
    /// Whether this instance runs the notifier (one instance at a time does, under a lease).
    pub notifier_enabled: bool,
}

/// How alerts are e-mailed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    /// The relay's host name.
    pub host: String,
    /// Its port; default: 465 with `tls`, 587 with `starttls`, 25 with `none`.
    #[serde(default)]
    pub port: Option<u16>,
    /// The user to log in as (none: no login).
    #[serde(default)]
    pub username: Option<String>,
    /// Its password.
    #[serde(default)]
    pub password: Option<Secret>,
    /// The sender (`cajero <alerts@example.com>`).
    pub from: String,
    /// The recipients.
    pub to: Vec<String>,
    /// `starttls` (default), `tls` or `none` (only for a relay on the same host or in tests).
    #[serde(default)]
    pub security: SmtpSecurity,
}

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS (required).
    #[default]
    Starttls,
    /// TLS from the first byte (SMTPS).
    Tls,
    /// No encryption.
    None,
}

impl SmtpConfig {
    /// The port in force.
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.security {
            SmtpSecurity::Tls => 465,
            SmtpSecurity::Starttls => 587,
            SmtpSecurity::None => 25,
        })
    }
}

/// The longest cool-down: a day.
pub const COOLDOWN_MINUTES_MAX: u32 = 24 * 60;

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            cooldown_minutes: super::COOLDOWN_MINUTES_DEFAULT,
            webhook_url: None,
            smtp: None,
            notifier_enabled: true,
        }
    }
}

impl AlertsConfig {
    /// Checks the values; the error names the key.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if !(1..=COOLDOWN_MINUTES_MAX).contains(&self.cooldown_minutes) {
            return Err((
                "alerts.cooldown_minutes",
                format!(
                    "must be 1 to {COOLDOWN_MINUTES_MAX}, not {}",
                    self.cooldown_minutes
                ),
            ));
        }
        if let Some(url) = &self.webhook_url {
            let parsed = url::Url::parse(url.expose())
                .map_err(|e| ("alerts.webhook_url", format!("is not a URL: {e}")))?;
            if !["http", "https"].contains(&parsed.scheme()) {
                return Err(("alerts.webhook_url", "must be an http(s) URL".into()));
            }
        }
        if let Some(smtp) = &self.smtp {
            smtp.validate()?;
        }
        Ok(())
    }
}

impl SmtpConfig {
    fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.host.trim().is_empty() {
            return Err(("alerts.smtp.host", "must name the SMTP relay".into()));
        }
        if self.port == Some(0) {
            return Err(("alerts.smtp.port", "must be 1 to 65535".into()));
        }
        if self.from.parse::<lettre::message::Mailbox>().is_err() {
            return Err((
                "alerts.smtp.from",
                format!("is not an e-mail address: {:?}", self.from),
            ));
        }
        if self.to.is_empty() {
            return Err(("alerts.smtp.to", "must list at least one address".into()));
        }
        if let Some(bad) = self
            .to
            .iter()
            .find(|to| to.parse::<lettre::message::Mailbox>().is_err())
        {
            return Err((
                "alerts.smtp.to",
                format!("is not an e-mail address: {bad:?}"),
            ));
        }
        if self.username.is_some() != self.password.is_some() {
            return Err((
                "alerts.smtp.password",
                "username and password go together".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn smtp() -> SmtpConfig {
        SmtpConfig {
            host: "smtp.example.com".into(),
            port: None,
            username: None,
            password: None,
            from: "cajero <alerts@example.com>".into(),
            to: vec!["ops@example.com".into()],
            security: SmtpSecurity::Starttls,
        }
    }

    #[test]
    fn defaults_are_valid_and_bad_values_name_their_key() {
        assert!(AlertsConfig::default().validate().is_ok());
        let with = |f: &dyn Fn(&mut AlertsConfig)| {
            let mut c = AlertsConfig {
                smtp: Some(smtp()),
                ..AlertsConfig::default()
            };
            f(&mut c);
            c.validate().map_err(|(key, _)| key)
        };
        assert_eq!(with(&|_| {}), Ok(()));
        assert_eq!(
            with(&|c| c.cooldown_minutes = 0),
            Err("alerts.cooldown_minutes")
        );
        assert_eq!(
            with(&|c| c.webhook_url = Some(Secret::new("ftp://x"))),
            Err("alerts.webhook_url")
        );
        assert_eq!(
            with(&|c| c.smtp.as_mut().unwrap().to.clear()),
            Err("alerts.smtp.to")
        );
        assert_eq!(
            with(&|c| c.smtp.as_mut().unwrap().from = "nobody".into()),
            Err("alerts.smtp.from")
        );
        assert_eq!(
            with(&|c| c.smtp.as_mut().unwrap().username = Some("u".into())),
            Err("alerts.smtp.password")
        );
        assert_eq!(smtp().port(), 587);
    }
}
