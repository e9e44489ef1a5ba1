//! Query strings and ids in paths, refused in the API's one error shape.
//!
//! axum's own `Query` answers a parameter it cannot read (`?limit=ten`, `?offset=-1`)
//! with a plain-text 400. [`Query`] reads the query the same way (form encoding, the path
//! of the failing member) and refuses it as `400 invalid_value`, naming the parameter in
//! `field` (`400 missing_field` for a required one absent). [`Id`] reads a numeric id
//! from the path: one that is not a number names nothing, `404 not_found`.

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// The one parameter of the path, an id (`/api/v1/journeys/{id}`).
pub struct Id(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        // The one way to fail on a one-parameter route: not UTF-8 once decoded (`%FF`).
        let Path(text) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::not_found("the id in the path is not readable text"))?;
        text.parse().map(Id).map_err(|_| {
            ApiError::not_found(format!("`{text}` is not an id: ids are whole numbers"))
        })
    }
}

/// The query string, read into `T` (as axum's `Query` reads it).
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parse(parts.uri.query().unwrap_or_default()).map(Query)
    }
}

fn parse<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let reader = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(reader).map_err(|e| {
        let field = e.path().to_string();
        if field != "." {
            let message = format!("`{field}`: {}", e.inner());
            return ApiError::bad_request("invalid_value", &field, message);
        }
        // The query as a whole: a parameter is missing (serde names it only in its text).
        let message = e.inner().to_string();
        match message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.strip_suffix('`'))
        {
            Some(missing) => ApiError::bad_request("missing_field", missing, message.clone()),
            None => ApiError::bad_request("invalid_value", "query", format!("query: {message}")),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Page {
        limit: Option<usize>,
        order: Option<String>,
    }

    #[test]
    fn a_parameter_it_cannot_read_is_named() {
        let page: Page = parse("limit=20&order=desc").unwrap();
        assert_eq!(
            (page.limit, page.order.as_deref()),
            (Some(20), Some("desc"))
        );
        let e = parse::<Page>("order=asc&limit=ten").unwrap_err();
        assert_eq!((e.status.as_u16(), e.code), (400, "invalid_value"));
        assert_eq!(e.field.as_deref(), Some("limit"));
        assert!(
            e.message.starts_with("`limit`: invalid digit"),
            "{}",
            e.message
        );
        let e = parse::<Page>("sort=asc").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("sort"));
        assert!(e.message.contains("unknown field `sort`"), "{}", e.message);
    }

    #[test]
    fn a_missing_parameter_is_named() {
        #[derive(Debug, Deserialize)]
        struct Needs {
            #[allow(dead_code)]
            conversion: String,
        }
        let e = parse::<Needs>("").unwrap_err();
        assert_eq!(
            (e.code, e.field.as_deref()),
            ("missing_field", Some("conversion"))
        );
        assert_eq!(e.message, "missing field `conversion`");
    }
}
