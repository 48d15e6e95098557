//! Every place the database keeps a sealed secret, listed and replaced in one place, so that
//! sealing old plaintext rows, rotating the instance key and `cajero secrets status` cannot
//! miss a column. Adding a secret column means adding a [`SecretPlace`].
//!
//! Network credentials are not here: cajero keeps none in the database (they come from the
//! configuration). A connector that stores some adds its place and seals with
//! [`crate::secret_box::SecretBox`].

use crate::webhooks::SIGNING_SECRET_CONTEXT;
use crate::{Conn, StoreError, execute, fetch};

/// Instance settings whose values are sealed.
pub const SEALED_SETTINGS: &[&str] = &[SECRETS_CANARY_SETTING];
/// A known value sealed under the instance key: tells at start whether the configured keys
/// are the ones this database's secrets were sealed under, even before any endpoint exists.
pub const SECRETS_CANARY_SETTING: &str = "secrets_canary";

/// A column holding sealed secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretPlace {
    /// `webhook_endpoints.secret`.
    EndpointSecret,
    /// `webhook_endpoints.previous_secret`.
    EndpointPreviousSecret,
    /// `instance_settings.value` of the [`SEALED_SETTINGS`].
    InstanceSetting,
}

impl SecretPlace {
    /// `table.column`, for reports.
    pub const fn name(self) -> &'static str {
        match self {
            SecretPlace::EndpointSecret => "webhook_endpoints.secret",
            SecretPlace::EndpointPreviousSecret => "webhook_endpoints.previous_secret",
            SecretPlace::InstanceSetting => "instance_settings.value",
        }
    }
}

/// One stored secret: where, which row, and the stored text (sealed, or a plaintext left from
/// before sealing).
#[derive(Clone, PartialEq, Eq)]
pub struct StoredSecret {
    /// The column.
    pub place: SecretPlace,
    /// The row: endpoint id or setting name.
    pub row: String,
    /// The stored text.
    pub value: String,
}

impl std::fmt::Debug for StoredSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredSecret")
            .field("place", &self.place)
            .field("row", &self.row)
            .finish_non_exhaustive()
    }
}

impl StoredSecret {
    /// The context it is sealed as.
    pub fn context(&self) -> String {
        match self.place {
            SecretPlace::EndpointSecret | SecretPlace::EndpointPreviousSecret => {
                SIGNING_SECRET_CONTEXT.to_string()
            }
            SecretPlace::InstanceSetting => setting_context(&self.row),
        }
    }
}

/// The context an instance setting is sealed as.
pub fn setting_context(name: &str) -> String {
    format!("instance_setting:{name}")
}

/// Every stored secret, deleted endpoints included (a copy of the database holds them too).
pub async fn list(conn: &mut Conn<'_>) -> Result<Vec<StoredSecret>, StoreError> {
    let rows = fetch!(
        all,
        conn,
        (String, String, Option<String>),
        "SELECT id, secret, previous_secret FROM webhook_endpoints ORDER BY id",
    )?;
    let mut secrets = Vec::with_capacity(rows.len());
    for (id, secret, previous) in rows {
        if let Some(previous) = previous {
            secrets.push(StoredSecret {
                place: SecretPlace::EndpointPreviousSecret,
                row: id.clone(),
                value: previous,
            });
        }
        secrets.push(StoredSecret {
            place: SecretPlace::EndpointSecret,
            row: id,
            value: secret,
        });
    }
    for name in SEALED_SETTINGS {
        let value = fetch!(
            optional,
            conn,
            (String,),
            "SELECT value FROM instance_settings WHERE name = $1",
            *name,
        )?;
        if let Some((value,)) = value {
            secrets.push(StoredSecret {
                place: SecretPlace::InstanceSetting,
                row: (*name).to_string(),
                value,
            });
        }
    }
    Ok(secrets)
}

/// Replaces `old`'s value with `new_value` if it still holds `old.value` (compare-and-set:
/// a secret rotated meanwhile is left alone). `true` when replaced.
pub async fn replace(
    conn: &mut Conn<'_>,
    old: &StoredSecret,
    new_value: &str,
) -> Result<bool, StoreError> {
    let changed = match old.place {
        SecretPlace::EndpointSecret => execute!(
            conn,
            "UPDATE webhook_endpoints SET secret = $1 WHERE id = $2 AND secret = $3",
            new_value,
            &old.row,
            &old.value,
        )?,
        SecretPlace::EndpointPreviousSecret => execute!(
            conn,
            "UPDATE webhook_endpoints SET previous_secret = $1 \
             WHERE id = $2 AND previous_secret = $3",
            new_value,
            &old.row,
            &old.value,
        )?,
        SecretPlace::InstanceSetting => replace_setting(conn, &old.row, &old.value, new_value)
            .await
            .map(u64::from)?,
    };
    Ok(changed > 0)
}

/// Replaces an instance setting's value if it is still `old` (compare-and-set).
pub async fn replace_setting(
    conn: &mut Conn<'_>,
    name: &str,
    old: &str,
    new_value: &str,
) -> Result<bool, StoreError> {
    let changed = execute!(
        conn,
        "UPDATE instance_settings SET value = $1 WHERE name = $2 AND value = $3",
        new_value,
        name,
        old,
    )?;
    Ok(changed > 0)
}
