//! `/openapi.json` and `/docs`: the API's description, made once from the code.

use std::sync::OnceLock;

use axum::http::header;
use axum::response::{Html, IntoResponse};

/// `GET /openapi.json`: the OpenAPI 3.1 document (the same bytes as `docs/openapi.json`).
pub async fn openapi_json() -> impl IntoResponse {
    static JSON: OnceLock<String> = OnceLock::new();
    (
        [(header::CONTENT_TYPE, "application/json")],
        JSON.get_or_init(crate::openapi::spec_json).as_str(),
    )
}

/// `GET /docs`: the reference rendered as one self-contained HTML page (no scripts, no
/// assets from elsewhere).
pub async fn page() -> Html<&'static str> {
    static PAGE: OnceLock<String> = OnceLock::new();
    Html(
        PAGE.get_or_init(|| crate::api_docs::render(&crate::openapi::spec()))
            .as_str(),
    )
}
