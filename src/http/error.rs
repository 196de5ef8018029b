//! Errors as the API answers them: `{"error_code": N, "message": "..."}` with Confluent's
//! status and error codes (shared/reference/registry-api.md §4).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::registry::RegistryError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: u32,
    pub message: String,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error_code: u32,
    message: &'a str,
}

impl ApiError {
    pub fn new(status: StatusCode, code: u32, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    /// A framework-level failure, whose error code is the status itself.
    pub fn plain(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError::new(status, u32::from(status.as_u16()), message)
    }

    pub fn not_found() -> ApiError {
        ApiError::plain(StatusCode::NOT_FOUND, "HTTP 404 Not Found")
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::plain(StatusCode::BAD_REQUEST, message)
    }

    pub fn unprocessable(code: u32, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }
}

impl From<RegistryError> for ApiError {
    fn from(err: RegistryError) -> Self {
        use RegistryError::*;
        let (status, code) = match &err {
            SubjectNotFound(_) => (StatusCode::NOT_FOUND, 40401),
            VersionNotFound(_) => (StatusCode::NOT_FOUND, 40402),
            SchemaNotFound(_) => (StatusCode::NOT_FOUND, 40403),
            SubjectSoftDeleted(_) => (StatusCode::NOT_FOUND, 40404),
            SubjectNotSoftDeleted(_) => (StatusCode::NOT_FOUND, 40405),
            VersionSoftDeleted(..) => (StatusCode::NOT_FOUND, 40406),
            VersionNotSoftDeleted(..) => (StatusCode::NOT_FOUND, 40407),
            NoSubjectConfig(_) => (StatusCode::NOT_FOUND, 40408),
            NoSubjectMode(_) => (StatusCode::NOT_FOUND, 40409),
            // 409 as the 7.x registries and the Python client's tests expect.
            Incompatible { .. } => (StatusCode::CONFLICT, 409),
            InvalidSchema(_) => (StatusCode::UNPROCESSABLE_ENTITY, 42201),
            InvalidVersion(_) => (StatusCode::UNPROCESSABLE_ENTITY, 42202),
            InvalidCompatibility(_) => (StatusCode::UNPROCESSABLE_ENTITY, 42203),
            InvalidMode(_) => (StatusCode::UNPROCESSABLE_ENTITY, 42204),
            NotPermitted(_) => (StatusCode::UNPROCESSABLE_ENTITY, 42205),
            Referenced { .. } => (StatusCode::UNPROCESSABLE_ENTITY, 42206),
            ImportIdMismatch(_) => (StatusCode::UNPROCESSABLE_ENTITY, 42207),
            InvalidSubject(_) => (StatusCode::UNPROCESSABLE_ENTITY, 42208),
            SchemaTooLarge { .. } => (StatusCode::UNPROCESSABLE_ENTITY, 42209),
            InvalidRuleSet(_) => (StatusCode::UNPROCESSABLE_ENTITY, 42210),
            // A schema too complex to judge is unusable as sent: 42201, as an invalid one.
            TooComplex(_) => (StatusCode::UNPROCESSABLE_ENTITY, 42201),
            ContextNotEmpty(_) => (StatusCode::UNPROCESSABLE_ENTITY, 42211),
            // Herald's own: consumer contracts are not part of Confluent's API.
            InvalidContract(_) => (StatusCode::UNPROCESSABLE_ENTITY, 42212),
            ContractNotFound { .. } => (StatusCode::NOT_FOUND, 40410),
            Store(_) => (StatusCode::INTERNAL_SERVER_ERROR, 50001),
        };
        if status.is_server_error() {
            tracing::error!(error = %err, "registry request failed");
        }
        ApiError::new(status, code, err.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&ErrorBody {
            error_code: self.code,
            message: &self.message,
        })
        .unwrap_or_default();
        (self.status, super::media::json_body(body)).into_response()
    }
}
