//! List parameters and the list object (API.md, "Lists").

use cajero_domain::id::{Id, IdKind};
use cajero_store::page::{Cursor, Page, PageRequest};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// Default page size.
pub const PAGE_SIZE_DEFAULT: u32 = 10;
/// Largest page size.
pub const PAGE_SIZE_MAX: u32 = 100;

/// `limit`, `starting_after`, `ending_before`, shared by every list endpoint (flatten it into
/// the endpoint's own query struct).
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// How many objects.
    // Taken as text and parsed in `page`: flattened query structs hand every value over as a
    // string, and only there can a refusal name `limit`.
    #[param(value_type = Option<u32>)]
    pub limit: Option<String>,
    /// An object id: list objects older than it.
    pub starting_after: Option<String>,
    /// An object id: list objects newer than it (not with `starting_after`).
    pub ending_before: Option<String>,
}

/// `limit` as a number: digits, or a float with no fraction (`20.0`), as JSON Schema's
/// `integer` allows.
fn parse_limit(text: &str) -> Option<u32> {
    text.parse::<u32>().ok().or_else(|| {
        let f = text.parse::<f64>().ok().filter(|f| f.fract() == 0.0)?;
        match crate::extract::strict_json::whole_number(f) {
            serde_json::Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
            _ => None,
        }
    })
}

impl ListParams {
    /// Validates against ids of kind `K`.
    pub fn page<K: IdKind>(&self) -> Result<PageRequest, ApiError> {
        let limit = match self.limit.as_deref() {
            None => PAGE_SIZE_DEFAULT,
            Some(text) => parse_limit(text)
                .filter(|n| (1..=PAGE_SIZE_MAX).contains(n))
                .ok_or_else(|| {
                    ApiError::invalid(
                        "parameter_invalid",
                        format!("`limit` must be a whole number from 1 to {PAGE_SIZE_MAX}."),
                    )
                    .with_param("limit")
                })?,
        };
        let parse = |value: &str, param: &'static str| {
            value
                .parse::<Id<K>>()
                .map(|id| id.to_string())
                .map_err(|e| {
                    ApiError::invalid("parameter_invalid", format!("{param}: {e}"))
                        .with_param(param)
                })
        };
        let cursor = match (&self.starting_after, &self.ending_before) {
            (Some(_), Some(_)) => {
                return Err(ApiError::invalid(
                    "parameters_exclusive",
                    "starting_after and ending_before cannot be used together",
                )
                .with_param("ending_before"));
            }
            (Some(after), None) => Cursor::After(parse(after, "starting_after")?),
            (None, Some(before)) => Cursor::Before(parse(before, "ending_before")?),
            (None, None) => Cursor::Newest,
        };
        Ok(PageRequest { limit, cursor })
    }
}

/// The list object.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct List<T> {
    /// `list`.
    object: &'static str,
    /// Newest first.
    data: Vec<T>,
    /// Whether more objects follow in this direction.
    has_more: bool,
    /// The list's path.
    url: String,
}

impl<T> List<T> {
    /// A list at `url` from a page, converting each row.
    pub fn from_page<R>(
        url: impl Into<String>,
        page: Page<R>,
        convert: impl Fn(R) -> T,
    ) -> List<T> {
        List {
            object: "list",
            data: page.data.into_iter().map(convert).collect(),
            has_more: page.has_more,
            url: url.into(),
        }
    }
}
