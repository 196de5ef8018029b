//! Who may do what: operations on resources, granted to principals directly or through
//! roles. Names match literally, by prefix, or any; a deny beats every allow. Pure rules, no
//! I/O: both doors (HTTP and Kafka) ask the same [`Grants`].

use std::fmt;
use std::str::FromStr;

use serde::Deserialize;

/// The kinds of thing a grant is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResourceKind {
    /// A registry subject (`orders-value`, `:.staging:orders-value`).
    Subject,
    /// The registry's global settings: top-level config and mode.
    Registry,
    Topic,
    /// A consumer group.
    Group,
    /// The service as a whole: metrics, cluster-wide administration.
    Cluster,
    /// A field tag (`PII`): `read` lets a principal read the fields a sensitive tag marks
    /// unredacted over HTTP.
    Tag,
}

impl ResourceKind {
    /// The name Confluent's denial messages use.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Subject => "Subject",
            ResourceKind::Registry => "Registry",
            ResourceKind::Topic => "Topic",
            ResourceKind::Group => "Group",
            ResourceKind::Cluster => "Cluster",
            ResourceKind::Tag => "Tag",
        }
    }
}

/// Something a request acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    pub kind: ResourceKind,
    /// Empty for the registry and the cluster.
    pub name: String,
}

impl Resource {
    pub fn subject(name: impl Into<String>) -> Resource {
        Resource {
            kind: ResourceKind::Subject,
            name: name.into(),
        }
    }

    pub fn topic(name: impl Into<String>) -> Resource {
        Resource {
            kind: ResourceKind::Topic,
            name: name.into(),
        }
    }

    pub fn group(name: impl Into<String>) -> Resource {
        Resource {
            kind: ResourceKind::Group,
            name: name.into(),
        }
    }

    pub fn registry() -> Resource {
        Resource {
            kind: ResourceKind::Registry,
            name: String::new(),
        }
    }

    pub fn tag(name: impl Into<String>) -> Resource {
        Resource {
            kind: ResourceKind::Tag,
            name: name.into(),
        }
    }

    pub fn cluster() -> Resource {
        Resource {
            kind: ResourceKind::Cluster,
            name: String::new(),
        }
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.name.is_empty() {
            f.write_str(self.kind.as_str())
        } else {
            write!(f, "{}: {}", self.kind.as_str(), self.name)
        }
    }
}

/// What may be done. Not every operation applies to every kind (see [`Operation::applies_to`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    /// Subjects and the registry: read versions, look up, check compatibility, read configs.
    Read,
    /// Subjects: register (implies read).
    Write,
    /// Subjects: soft and permanent deletes.
    Delete,
    /// Subjects and the registry: change configs and modes.
    Configure,
    /// Topics, groups, the cluster: see that it exists and how it is set up.
    Describe,
    /// Topics: append records (implies describe).
    Produce,
    /// Topics and groups: read records, join, commit (implies describe).
    Consume,
    /// Topics, groups, the cluster: create, change, delete, reset (implies everything).
    Admin,
}

impl Operation {
    /// The name Confluent's denial messages use (`Write`, `Read`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Read => "Read",
            Operation::Write => "Write",
            Operation::Delete => "Delete",
            Operation::Configure => "Configure",
            Operation::Describe => "Describe",
            Operation::Produce => "Produce",
            Operation::Consume => "Consume",
            Operation::Admin => "Admin",
        }
    }

    /// The operations a grant of `self` also allows: write reads, producing and consuming
    /// describe, admin does everything.
    fn implies(self, asked: Operation) -> bool {
        use Operation::*;
        self == asked
            || matches!(
                (self, asked),
                (Write, Read) | (Produce, Describe) | (Consume, Describe) | (Configure, Read) | (Admin, _)
            )
    }

    /// Whether a read-only principal may do it.
    pub fn is_read_only(self) -> bool {
        matches!(self, Operation::Read | Operation::Describe)
    }
}

impl FromStr for Operation {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        serde::Deserialize::deserialize(serde::de::value::StrDeserializer::<serde::de::value::Error>::new(
            &text.to_ascii_lowercase(),
        ))
        .map_err(|_| {
            format!("unknown operation {text:?}: read, write, delete, configure, describe, produce, consume or admin")
        })
    }
}

/// How a grant's name selects resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Match {
    /// The name exactly.
    #[default]
    Literal,
    /// Every name starting with it.
    Prefix,
    /// Every name (the grant's name is ignored).
    Any,
}

/// Who a grant is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grantee {
    Principal(String),
    Role(String),
}

/// One rule: operations allowed or denied on the resources of one kind a name selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub grantee: Grantee,
    pub kind: ResourceKind,
    pub name: String,
    pub matching: Match,
    pub allow: Vec<Operation>,
    pub deny: Vec<Operation>,
}

/// Whether one of the principal's built-in roles allows `operation` on any `kind`.
fn built_in_allows(principal: &Principal, operation: Operation, kind: ResourceKind) -> bool {
    principal.roles.iter().any(|role| {
        built_in(role)
            .iter()
            .any(|(k, ops)| *k == kind && ops.iter().any(|op| op.implies(operation)))
    })
}

impl Grant {
    /// Whether the grant is the principal's own or one of its roles'.
    fn is_for(&self, principal: &Principal) -> bool {
        match &self.grantee {
            Grantee::Principal(name) => name.as_str() == &*principal.name,
            Grantee::Role(role) => principal.roles.iter().any(|r| r == role),
        }
    }

    fn selects(&self, resource: &Resource) -> bool {
        self.kind == resource.kind
            && match self.matching {
                Match::Literal => self.name == resource.name,
                Match::Prefix => resource.name.starts_with(&self.name),
                Match::Any => true,
            }
    }
}

/// Someone authenticated (or the anonymous principal): a name and roles. Shared, not
/// copied: every request carries its caller's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub name: std::sync::Arc<str>,
    pub roles: std::sync::Arc<[String]>,
}

impl Principal {
    /// The principal of requests without credentials, when anonymous access is allowed.
    pub fn anonymous(roles: Vec<String>) -> Principal {
        Principal {
            name: ANONYMOUS.into(),
            roles: roles.into(),
        }
    }
}

/// The name of the principal without credentials.
pub const ANONYMOUS: &str = "ANONYMOUS";

/// The built-in roles.
pub const ADMIN: &str = "admin";
pub const DEVELOPER: &str = "developer";
pub const READONLY: &str = "readonly";
pub const BUILT_IN_ROLES: [&str; 3] = [ADMIN, DEVELOPER, READONLY];

/// What a built-in role allows, on any name of each kind.
fn built_in(role: &str) -> &'static [(ResourceKind, &'static [Operation])] {
    use Operation::*;
    use ResourceKind::*;
    match role {
        ADMIN => &[
            (Subject, &[Admin]),
            (Registry, &[Admin]),
            (Topic, &[Admin]),
            (Group, &[Admin]),
            (Cluster, &[Admin]),
            (Tag, &[Admin]),
        ],
        DEVELOPER => &[
            (Subject, &[Write, Configure]),
            (Registry, &[Read]),
            (Topic, &[Produce, Consume]),
            (Group, &[Consume]),
            (Cluster, &[Describe]),
        ],
        READONLY => &[
            (Subject, &[Read]),
            (Registry, &[Read]),
            (Topic, &[Describe]),
            (Group, &[Describe]),
            (Cluster, &[Describe]),
        ],
        _ => &[],
    }
}

/// Every grant in force: the built-in roles' and the configured ones.
#[derive(Debug, Clone, Default)]
pub struct Grants {
    grants: Vec<Grant>,
}

impl Grants {
    pub fn new(grants: Vec<Grant>) -> Grants {
        Grants { grants }
    }

    /// May `principal` do `operation` on `resource`? Denied if any grant for the principal
    /// or one of its roles denies it; else allowed if a built-in role or a grant allows it.
    pub fn permits(&self, principal: &Principal, operation: Operation, resource: &Resource) -> bool {
        let applies = |grant: &&Grant| grant.selects(resource) && grant.is_for(principal);
        let mut allowed = built_in_allows(principal, operation, resource.kind);
        for grant in self.grants.iter().filter(applies) {
            // Denying an operation denies every one that implies it: no writing what may
            // not be read.
            if grant.deny.iter().any(|denied| operation.implies(*denied)) {
                return false;
            }
            allowed = allowed || grant.allow.iter().any(|op| op.implies(operation));
        }
        allowed
    }
}

impl Grants {
    /// May `principal` do `operation` on every resource of `kind`, whatever its name: a
    /// built-in role or a grant on any name allows it, and no grant of the principal's
    /// denies anything of that kind that would stop it.
    pub fn permits_every(&self, principal: &Principal, operation: Operation, kind: ResourceKind) -> bool {
        let concerns = |grant: &&Grant| grant.kind == kind && grant.is_for(principal);
        let mut allowed = built_in_allows(principal, operation, kind);
        for grant in self.grants.iter().filter(concerns) {
            if grant.deny.iter().any(|denied| operation.implies(*denied)) {
                return false;
            }
            allowed = allowed || (grant.matching == Match::Any && grant.allow.iter().any(|op| op.implies(operation)));
        }
        allowed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Operation::*;

    fn principal(name: &str, roles: &[&str]) -> Principal {
        Principal {
            name: name.into(),
            roles: roles.iter().map(|r| r.to_string()).collect(),
        }
    }

    fn grant(
        grantee: Grantee,
        kind: ResourceKind,
        name: &str,
        matching: Match,
        allow: &[Operation],
        deny: &[Operation],
    ) -> Grant {
        Grant {
            grantee,
            kind,
            name: name.to_string(),
            matching,
            allow: allow.to_vec(),
            deny: deny.to_vec(),
        }
    }

    #[test]
    fn built_in_roles_allow_what_their_names_say() {
        let none = Grants::default();
        let admin = principal("root", &[ADMIN]);
        let dev = principal("dev", &[DEVELOPER]);
        let reader = principal("reader", &[READONLY]);
        let orders = Resource::subject("orders-value");
        let topic = Resource::topic("orders");
        for op in [Read, Write, Delete, Configure] {
            assert!(none.permits(&admin, op, &orders), "{op:?}");
        }
        assert!(none.permits(&dev, Write, &orders) && none.permits(&dev, Read, &orders));
        assert!(!none.permits(&dev, Delete, &orders));
        assert!(none.permits(&dev, Produce, &topic) && none.permits(&dev, Describe, &topic));
        assert!(!none.permits(&dev, Admin, &topic));
        assert!(!none.permits(&dev, Configure, &Resource::registry()));
        assert!(none.permits(&reader, Read, &orders) && !none.permits(&reader, Write, &orders));
        assert!(none.permits(&reader, Describe, &topic) && !none.permits(&reader, Consume, &topic));
        assert!(!none.permits(&principal("nobody", &[]), Read, &orders));
    }

    #[test]
    fn grants_match_literally_or_by_prefix_and_deny_wins() {
        let grants = Grants::new(vec![
            grant(
                Grantee::Principal("payments".into()),
                ResourceKind::Subject,
                "payments-",
                Match::Prefix,
                &[Write],
                &[],
            ),
            grant(
                Grantee::Principal("payments".into()),
                ResourceKind::Topic,
                "payments",
                Match::Literal,
                &[Produce],
                &[],
            ),
            grant(
                Grantee::Role(DEVELOPER.into()),
                ResourceKind::Subject,
                "secret-",
                Match::Prefix,
                &[],
                &[Read],
            ),
        ]);
        let payments = principal("payments", &[]);
        assert!(grants.permits(&payments, Write, &Resource::subject("payments-value")));
        assert!(grants.permits(&payments, Read, &Resource::subject("payments-key")));
        assert!(!grants.permits(&payments, Read, &Resource::subject("orders-value")));
        assert!(!grants.permits(&payments, Delete, &Resource::subject("payments-value")));
        assert!(grants.permits(&payments, Produce, &Resource::topic("payments")));
        assert!(!grants.permits(&payments, Produce, &Resource::topic("payments-dlq")));
        // A subject grant says nothing about a topic of the same name.
        assert!(!grants.permits(&payments, Write, &Resource::topic("payments-value")));
        // The developer role's deny beats the role's own allow, on those names only.
        let dev = principal("dev", &[DEVELOPER]);
        assert!(!grants.permits(&dev, Read, &Resource::subject("secret-value")));
        assert!(!grants.permits(&dev, Write, &Resource::subject("secret-value")));
        assert!(grants.permits(&dev, Read, &Resource::subject("public-value")));
    }

    #[test]
    fn every_name_is_allowed_only_without_a_deny_in_the_way() {
        let grants = Grants::new(vec![grant(
            Grantee::Role(DEVELOPER.into()),
            ResourceKind::Subject,
            "secret-",
            Match::Prefix,
            &[],
            &[Read],
        )]);
        assert!(grants.permits_every(&principal("r", &[READONLY]), Read, ResourceKind::Subject));
        assert!(!grants.permits_every(&principal("d", &[DEVELOPER]), Read, ResourceKind::Subject));
        assert!(!grants.permits_every(&principal("n", &[]), Read, ResourceKind::Subject));
        let prefix_only = Grants::new(vec![grant(
            Grantee::Principal("p".into()),
            ResourceKind::Topic,
            "a",
            Match::Prefix,
            &[Describe],
            &[],
        )]);
        assert!(!prefix_only.permits_every(&principal("p", &[]), Describe, ResourceKind::Topic));
    }

    #[test]
    fn operations_parse_in_any_case() {
        assert_eq!("Produce".parse::<Operation>(), Ok(Produce));
        assert!("fly".parse::<Operation>().unwrap_err().contains("unknown operation"));
    }
}
