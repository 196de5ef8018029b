//! Which Confluent release the registry's answers look like (`api_profile`).
//!
//! Clients of either release read both shapes, but tests and tools written against one
//! release sometimes compare bodies or error codes exactly, so the server answers as the
//! release its users expect. Every difference between the two lives here, as a method the
//! handlers and bodies ask; nothing else in the HTTP layer branches on the profile.

use std::fmt;
use std::str::FromStr;

use axum::http::StatusCode;

use super::error::ApiError;
use crate::registry::RegistryError;
use crate::schema::SchemaType;

/// The response profile: Confluent Platform 7.x (the default) or 8.x.
///
/// What the 8.x profile changes (shared/reference/registry-api.md §2, §3, §4, §5.3):
/// - `schemaType` is always in schema bodies (`Schema`, `SchemaString`,
///   `RegisterSchemaResponse`); 7.x omits it for AVRO ([`ApiProfile::schema_type`]).
/// - An incompatible registration answers 409 with error code 40901 (8.0.4+); 7.x uses
///   409/409 ([`ApiProfile::incompatible_code`]).
/// - A registration answers the whole `RegisterSchemaResponse` (`id`, `version`,
///   `schemaType`, `schema` and the non-empty `references`, `metadata`, `ruleSet`);
///   7.x answers `{"id": N}` unless the stored schema differs from the request
///   ([`ApiProfile::full_registration`]).
/// - A `Schema` of a soft-deleted version says `"deleted": true`
///   ([`ApiProfile::deleted_flag`]).
/// - `GET /schemas/ids/{id}?subject=S` names the subject and version the id has there
///   (`subject`, `version` in `SchemaString`) ([`ApiProfile::names_subject_version`]).
///
/// 8.x differences not reproduced, and why:
/// - `guid` (Confluent's MD5 of the schema's identity, written as a UUID) and the V1
///   wire framing and `/schemas/guids/…` routes built on it: Herald's stored fingerprint
///   hashes different bytes than Confluent's, so a `guid` from it would not be the one a
///   Confluent registry gives the same schema, and no route could resolve it. Left out
///   rather than invented.
/// - `ts` (registration time): Herald does not store when a version was registered.
/// - `schemaTags` (8.x in `SchemaString`) and `propagateSchemaTags`: Herald keeps no tags.
/// - Release-gated routes and parameters (`/v1/metadata/deployment`, `referenceFormat`,
///   `deletedAsNegative`, `DELETE /mode`, `DELETE /contexts/{c}`): these are additions,
///   not different answers to the same request, so they are not part of a profile.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ApiProfile {
    #[default]
    V7,
    V8,
}

impl ApiProfile {
    /// The values `api_profile` accepts, for error messages.
    pub const ALLOWED: &'static str = "\"7\" or \"8\"";

    /// The `schemaType` a schema body carries: `None` leaves the field out.
    pub fn schema_type(self, schema_type: SchemaType) -> Option<SchemaType> {
        match self {
            ApiProfile::V7 if schema_type == SchemaType::Avro => None,
            _ => Some(schema_type),
        }
    }

    /// The error code of a 409 for an incompatible schema.
    pub fn incompatible_code(self) -> u32 {
        match self {
            ApiProfile::V7 => 409,
            ApiProfile::V8 => 40901,
        }
    }

    /// Whether a registration always answers the whole stored schema, not only its id.
    pub fn full_registration(self) -> bool {
        self == ApiProfile::V8
    }

    /// The `deleted` field of a version's body: `None` leaves it out.
    pub fn deleted_flag(self, deleted: bool) -> Option<bool> {
        (self == ApiProfile::V8 && deleted).then_some(true)
    }

    /// Whether a schema asked for by id under `?subject=` names that subject and version.
    pub fn names_subject_version(self) -> bool {
        self == ApiProfile::V8
    }

    /// A registry error as this profile answers it.
    pub fn error(self, err: RegistryError) -> ApiError {
        let incompatible = matches!(err, RegistryError::Incompatible { .. });
        let mut err = ApiError::from(err);
        if incompatible {
            err.status = StatusCode::CONFLICT;
            err.code = self.incompatible_code();
        }
        err
    }
}

impl FromStr for ApiProfile {
    type Err = String;

    fn from_str(text: &str) -> Result<ApiProfile, String> {
        match text.trim() {
            "7" => Ok(ApiProfile::V7),
            "8" => Ok(ApiProfile::V8),
            other => Err(format!("unknown profile {other:?}: use {}", ApiProfile::ALLOWED)),
        }
    }
}

impl fmt::Display for ApiProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ApiProfile::V7 => "7",
            ApiProfile::V8 => "8",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_parse_from_their_numbers_only() {
        assert_eq!("7".parse(), Ok(ApiProfile::V7));
        assert_eq!(" 8 ".parse(), Ok(ApiProfile::V8));
        for bad in ["", "9", "7.x", "v8", "eight"] {
            let err = bad.parse::<ApiProfile>().unwrap_err();
            assert!(err.contains("\"7\" or \"8\""), "{bad}: {err}");
        }
    }

    #[test]
    fn only_the_8x_profile_names_avro() {
        assert_eq!(ApiProfile::V7.schema_type(SchemaType::Avro), None);
        assert_eq!(ApiProfile::V7.schema_type(SchemaType::Json), Some(SchemaType::Json));
        assert_eq!(ApiProfile::V8.schema_type(SchemaType::Avro), Some(SchemaType::Avro));
    }
}
