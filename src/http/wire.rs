//! The REST API's bodies, field for field as Confluent's (registry-api.md §2): empty lists
//! and absent values are omitted, and the fields that differ between Confluent releases
//! are filled in as the server's [`ApiProfile`] says (`schemaType` is left out for AVRO in
//! the default 7.x profile). Unknown request fields are ignored, as Confluent's entities
//! ignore them.

use axum::body::Bytes;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::ApiError;
use super::profile::ApiProfile;
use crate::registry::{Config, SchemaReference, SchemaRequest, StoredSchema, SubjectSchema};
use crate::schema::SchemaType;

/// Reads a JSON request body: 400 for malformed JSON or a wrong JSON type, naming where.
pub fn parse_body<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("Request body is empty: expected a JSON object"));
    }
    serde_json::from_slice(body).map_err(|err| {
        let kind = if err.is_data() {
            "Invalid request body"
        } else {
            "Malformed JSON"
        };
        ApiError::bad_request(format!("{kind}: {err}"))
    })
}

/// Reads a registry request body as [`parse_body`] does, in any encoding Confluent's
/// registry reads (UTF-8, UTF-16 or UTF-32, see [`super::encoding`]); a body that is not
/// valid in its encoding is malformed (400). An empty body or a JSON `null` is 422/422, as
/// Confluent's bean validation refuses a missing request entity (`… must not be null`).
pub fn parse_registry_body<T: DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    let text = super::encoding::to_utf8(body).map_err(|why| ApiError::bad_request(format!("Malformed JSON: {why}")))?;
    let missing = match text.trim_ascii() {
        b"" => "empty",
        b"null" => "null",
        _ => return parse_body(&text),
    };
    Err(ApiError::unprocessable(
        422,
        format!("The request body must not be null (it is {missing}): expected a JSON object"),
    ))
}

/// `RegisterSchemaRequest`: the body of register, lookup and compatibility calls.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemaBody {
    #[serde(default)]
    pub schema: Option<String>,
    #[serde(default)]
    pub schema_type: Option<String>,
    #[serde(default)]
    pub references: Option<Vec<ReferenceBody>>,
    #[serde(default)]
    pub version: Option<i64>,
    #[serde(default)]
    pub id: Option<i64>,
    #[serde(default)]
    pub metadata: Option<Value>,
    #[serde(default, alias = "ruleset")]
    pub rule_set: Option<Value>,
}

#[derive(Debug, Deserialize)]
pub struct ReferenceBody {
    pub name: Option<String>,
    pub subject: Option<String>,
    pub version: Option<i64>,
}

impl SchemaBody {
    pub fn into_request(self) -> Result<SchemaRequest, ApiError> {
        let schema_type = match self.schema_type.as_deref() {
            None => SchemaType::Avro,
            Some(name) => name
                .parse::<SchemaType>()
                .map_err(|_| ApiError::unprocessable(42201, format!("Invalid schema type {name}")))?,
        };
        let references = self
            .references
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(i, r)| match (r.name, r.subject, r.version) {
                (Some(name), Some(subject), Some(version)) => Ok(SchemaReference { name, subject, version }),
                _ => Err(ApiError::unprocessable(
                    42201,
                    format!("Invalid schema reference at /references/{i}: \"name\", \"subject\" and \"version\" are required"),
                )),
            })
            .collect::<Result<Vec<_>, _>>()?;
        // Wrong JSON shapes are what Confluent's JSON binding refuses: 400, not a 422.
        if self.metadata.as_ref().is_some_and(|m| !m.is_null() && !m.is_object()) {
            return Err(ApiError::bad_request(
                "Invalid request body: \"metadata\" must be an object",
            ));
        }
        let mut rule_set = self.rule_set.filter(|r| !r.is_null());
        if let Some(rule_set) = &mut rule_set {
            let Some(kinds) = rule_set.as_object_mut() else {
                return Err(ApiError::bad_request(
                    "Invalid request body: \"ruleSet\" must be an object",
                ));
            };
            // A null list is no list, as Confluent's entities read it.
            kinds.retain(|_, rules| !rules.is_null());
            // `enableAt` names where the set runs; every other member is a list of rules.
            if let Some(place) = kinds.get("enableAt") {
                let known = place
                    .as_str()
                    .is_some_and(|p| ["ALL", "CLIENT", "GATEWAY", "SERVER", "NONE"].contains(&p));
                if !known {
                    return Err(ApiError::bad_request(format!(
                        "Invalid request body: \"ruleSet.enableAt\" must be ALL, CLIENT, GATEWAY, SERVER or NONE, not {place}"
                    )));
                }
            }
            if let Some((kind, _)) = kinds
                .iter()
                .find(|(kind, rules)| *kind != "enableAt" && !rules.is_array())
            {
                return Err(ApiError::bad_request(format!(
                    "Invalid request body: \"ruleSet.{kind}\" must be an array of rules"
                )));
            }
        }
        Ok(SchemaRequest {
            schema: self.schema,
            schema_type,
            references,
            metadata: self.metadata.filter(|m| !m.is_null()),
            rule_set,
            version: self.version,
            id: self.id,
        })
    }
}

/// `SchemaReference` as the API spells it.
#[derive(Debug, Serialize)]
pub struct ReferenceView<'a> {
    pub name: &'a str,
    pub subject: &'a str,
    pub version: i64,
}

fn references(refs: &[SchemaReference]) -> Vec<ReferenceView<'_>> {
    refs.iter()
        .map(|r| ReferenceView {
            name: &r.name,
            subject: &r.subject,
            version: r.version,
        })
        .collect()
}

/// `Schema`: one version of a subject.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemaView<'a> {
    pub subject: &'a str,
    pub version: i64,
    pub id: i64,
    /// Left out for AVRO in the 7.x profile ([`ApiProfile::schema_type`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<ReferenceView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_set: Option<&'a Value>,
    pub schema: &'a str,
    /// Only in the 8.x profile, and only for a soft-deleted version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted: Option<bool>,
}

impl<'a> SchemaView<'a> {
    pub fn new(v: &'a SubjectSchema, profile: ApiProfile) -> Self {
        SchemaView {
            subject: &v.subject,
            version: v.version,
            id: v.schema.id,
            schema_type: wire_type(profile, v.schema.schema_type),
            references: references(&v.schema.references),
            metadata: v.schema.metadata.as_ref(),
            rule_set: v.schema.rule_set.as_ref(),
            schema: &v.schema.schema,
            deleted: profile.deleted_flag(v.deleted),
        }
    }
}

fn wire_type(profile: ApiProfile, schema_type: SchemaType) -> Option<&'static str> {
    profile.schema_type(schema_type).map(SchemaType::as_str)
}

/// `SchemaString`: a schema by id.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemaStringView<'a> {
    /// Only in the 8.x profile, when the request names a subject the id is registered in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema_type: Option<&'static str>,
    pub schema: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<ReferenceView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_set: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_id: Option<i64>,
}

impl<'a> SchemaStringView<'a> {
    pub fn new(s: &'a StoredSchema, max_id: Option<i64>, profile: ApiProfile) -> Self {
        SchemaStringView {
            subject: None,
            version: None,
            schema_type: wire_type(profile, s.schema_type),
            schema: &s.schema,
            references: references(&s.references),
            metadata: s.metadata.as_ref(),
            rule_set: s.rule_set.as_ref(),
            max_id,
        }
    }

    /// Names the subject and version the schema has there (8.x `?subject=`).
    pub fn in_subject(mut self, subject: &'a str, version: i64) -> Self {
        self.subject = Some(subject);
        self.version = Some(version);
        self
    }
}

impl<'a> RegisteredView<'a> {
    pub fn new(id: i64, version: i64, s: &'a StoredSchema, profile: ApiProfile) -> Self {
        RegisteredView {
            id,
            version,
            schema_type: wire_type(profile, s.schema_type),
            references: references(&s.references),
            metadata: s.metadata.as_ref(),
            rule_set: s.rule_set.as_ref(),
            schema: &s.schema,
        }
    }
}

/// `RegisterSchemaResponse`: in the 7.x profile only when the stored schema differs from
/// the request; in the 8.x profile for every registration.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisteredView<'a> {
    pub id: i64,
    pub version: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<ReferenceView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_set: Option<&'a Value>,
    pub schema: &'a str,
}

#[derive(Debug, Serialize)]
pub struct IdView {
    pub id: i64,
}

#[derive(Debug, Serialize)]
pub struct SubjectVersionView<'a> {
    pub subject: &'a str,
    pub version: i64,
}

#[derive(Debug, Serialize)]
pub struct CompatibilityView {
    pub is_compatible: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messages: Option<Vec<String>>,
}

/// `ConfigUpdateRequest`: `compatibility`, not `compatibilityLevel`, plus the optional
/// fields. Echoed back as sent.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigBody {
    #[serde(default, alias = "compatibilityLevel", skip_serializing_if = "Option::is_none")]
    pub compatibility: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normalize: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validate_fields: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compatibility_group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_metadata: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub override_metadata: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_rule_set: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub override_rule_set: Option<Value>,
    /// Herald's: `CONFLUENT` or `WIRE_JSON` for Protobuf subjects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protobuf_rules: Option<String>,
    /// Herald's: `DEFAULT` or `READER_AWARE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compatibility_policy: Option<String>,
}

impl ConfigBody {
    pub fn to_config(&self) -> Result<Config, ApiError> {
        let compatibility_level =
            match self.compatibility.as_deref() {
                None => None,
                Some(name) => Some(name.parse().map_err(|_| {
                    ApiError::from(crate::registry::RegistryError::InvalidCompatibility(name.to_string()))
                })?),
            };
        let protobuf_rules = match self.protobuf_rules.as_deref() {
            None => None,
            Some(name) => Some(
                name.parse()
                    .map_err(|why: String| ApiError::unprocessable(42203, why))?,
            ),
        };
        let compatibility_policy = match self.compatibility_policy.as_deref() {
            None => None,
            Some(name) => Some(
                name.parse()
                    .map_err(|why: String| ApiError::unprocessable(42203, why))?,
            ),
        };
        Ok(Config {
            protobuf_rules,
            compatibility_policy,
            alias: self.alias.clone(),
            normalize: self.normalize,
            validate_fields: self.validate_fields,
            compatibility_level,
            compatibility_group: self.compatibility_group.clone(),
            default_metadata: self.default_metadata.clone(),
            override_metadata: self.override_metadata.clone(),
            default_rule_set: self.default_rule_set.clone(),
            override_rule_set: self.override_rule_set.clone(),
        })
    }
}

/// `Config`, as `GET /config` answers it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigView<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compatibility_level: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub normalize: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validate_fields: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compatibility_group: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_metadata: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub override_metadata: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_rule_set: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub override_rule_set: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protobuf_rules: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compatibility_policy: Option<&'static str>,
}

impl<'a> From<&'a Config> for ConfigView<'a> {
    fn from(c: &'a Config) -> Self {
        ConfigView {
            compatibility_level: c.compatibility_level.map(|l| l.as_str()),
            alias: c.alias.as_deref(),
            normalize: c.normalize,
            validate_fields: c.validate_fields,
            compatibility_group: c.compatibility_group.as_deref(),
            default_metadata: c.default_metadata.as_ref(),
            override_metadata: c.override_metadata.as_ref(),
            default_rule_set: c.default_rule_set.as_ref(),
            override_rule_set: c.override_rule_set.as_ref(),
            protobuf_rules: c.protobuf_rules.map(|r| r.as_str()),
            compatibility_policy: c.compatibility_policy.map(|p| p.as_str()),
        }
    }
}

#[derive(Debug, Deserialize, Serialize)]
pub struct ModeBody {
    pub mode: String,
}

/// Serialises a response body; the types above cannot fail to serialise.
pub fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(value)
        .map_err(|e| ApiError::plain(StatusCode::INTERNAL_SERVER_ERROR, format!("Internal Server Error: {e}")))
}

/// `PUT /herald/v1/consumers/{group}/contracts/{subject}`: what a consumer group reads of a
/// subject, as a field list or a reader schema. Unknown fields are refused, so a misspelt
/// one is not ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContractBody {
    /// A version number or `latest` (the default).
    #[serde(default)]
    pub version: Option<Value>,
    #[serde(default)]
    pub fields: Option<Vec<String>>,
    #[serde(default)]
    pub schema: Option<String>,
    #[serde(default)]
    pub schema_type: Option<String>,
}

impl ContractBody {
    pub fn to_request(&self) -> Result<crate::registry::readers::ContractRequest, ApiError> {
        use crate::registry::RegistryError;
        let version = match &self.version {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) => Some(text.parse()?),
            Some(Value::Number(n)) => Some(n.to_string().parse()?),
            Some(other) => return Err(RegistryError::InvalidVersion(other.to_string()).into()),
        };
        let schema_type = match &self.schema_type {
            None => None,
            Some(name) => Some(name.parse().map_err(|_| {
                RegistryError::InvalidContract(format!("schemaType {name:?} is not AVRO, JSON or PROTOBUF"))
            })?),
        };
        Ok(crate::registry::readers::ContractRequest {
            version,
            fields: self.fields.clone(),
            schema: self.schema.clone(),
            schema_type,
        })
    }
}

/// A declared consumer contract, as the API answers it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContractView<'a> {
    pub group: &'a str,
    pub subject: &'a str,
    pub version: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema: Option<&'a str>,
    /// Unix milliseconds of the declaration.
    pub updated_at: i64,
}

impl<'a> From<&'a crate::registry::readers::Contract> for ContractView<'a> {
    fn from(c: &'a crate::registry::readers::Contract) -> Self {
        use crate::registry::readers::ContractReads;
        let (fields, schema_type, schema) = match &c.reads {
            ContractReads::Fields(fields) => (Some(fields.as_slice()), None, None),
            ContractReads::Schema { schema_type, schema } => (None, Some(schema_type.as_str()), Some(schema.as_str())),
        };
        ContractView {
            group: &c.group,
            subject: &c.subject,
            version: c.version,
            fields,
            schema_type,
            schema,
            updated_at: c.updated_at,
        }
    }
}
