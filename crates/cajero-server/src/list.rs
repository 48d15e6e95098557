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
    /// How many objects: 1–100, default 10.
    // Taken as text and parsed here: flattened query structs hand every value over as a string.
    #[serde(default, deserialize_with = "number_or_text")]
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// An object id: list objects older than it.
    pub starting_after: Option<String>,
    /// An object id: list objects newer than it (not with `starting_after`).
    pub ending_before: Option<String>,
}

fn number_or_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Number(u32),
        Text(String),
    }
    match Option::<Raw>::deserialize(d)? {
        None => Ok(None),
        Some(Raw::Number(n)) => Ok(Some(n)),
        Some(Raw::Text(t)) => t.parse().map(Some).map_err(|_| {
            serde::de::Error::custom(format!("limit must be a whole number, not {t:?}"))
        }),
    }
}

impl ListParams {
    /// Validates against ids of kind `K`.
    pub fn page<K: IdKind>(&self) -> Result<PageRequest, ApiError> {
        let limit = self.limit.unwrap_or(PAGE_SIZE_DEFAULT);
        if !(1..=PAGE_SIZE_MAX).contains(&limit) {
            return Err(ApiError::invalid(
                "parameter_invalid",
                format!("limit must be between 1 and {PAGE_SIZE_MAX}"),
            )
            .with_param("limit"));
        }
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
