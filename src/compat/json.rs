//! JSON Schema comparison: does the updated schema accept every document the original
//! accepted?
//!
//! This is Confluent's json-schema-provider rule set (STRICT policy by default): the two
//! schemas are walked together and every difference is classified (`MAX_LENGTH_DECREASED`,
//! `PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL`, …); the change is compatible when every
//! difference is of a compatible kind. Content models matter: adding a typed property to an
//! *open* object narrows it (the old schema let that name hold anything), while the same
//! change to a *closed* object widens it. Combinators are matched order-free through a
//! maximum bipartite matching. `$ref`s are followed; recursion is cut when a pair of nodes
//! is met again while being compared.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use serde_json::Value;

use super::{Budget, TooComplex};
use crate::schema::field_path::{self, Step};
use crate::schema::json::{
    Additional, Annotations, ArrayRules, Criterion, JsonKind, JsonNodeId, JsonSchema, NumberRules, ObjectRules,
    StringRules,
};
use crate::schema::pointer;

/// Which changes count as compatible. Confluent's default is STRICT; LENIENT additionally
/// accepts narrowing an open content model (adding optional properties, closing a model).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Policy {
    #[default]
    Strict,
    Lenient,
}

macro_rules! difference_kinds {
    ($($variant:ident = $id:literal => $strict:literal, $lenient:literal;)*) => {
        /// Confluent's `Difference.Type`: every kind of change the comparison can find.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[allow(clippy::enum_variant_names)]
        pub enum DiffKind { $($variant),* }

        impl DiffKind {
            /// The stable rule id, as Confluent spells it.
            pub fn id(self) -> &'static str {
                match self { $(DiffKind::$variant => $id),* }
            }

            /// Whether a change of this kind keeps the schemas compatible.
            pub fn is_compatible(self, policy: Policy) -> bool {
                match (self, policy) {
                    $((DiffKind::$variant, Policy::Strict) => $strict,
                      (DiffKind::$variant, Policy::Lenient) => $lenient,)*
                }
            }

            pub const ALL: &'static [DiffKind] = &[$(DiffKind::$variant),*];
        }
    };
}

difference_kinds! {
    IdChanged = "ID_CHANGED" => true, true;
    DescriptionChanged = "DESCRIPTION_CHANGED" => true, true;
    TitleChanged = "TITLE_CHANGED" => true, true;
    DefaultChanged = "DEFAULT_CHANGED" => true, true;
    SchemaAdded = "SCHEMA_ADDED" => false, false;
    SchemaRemoved = "SCHEMA_REMOVED" => true, true;
    TypeExtended = "TYPE_EXTENDED" => true, true;
    TypeNarrowed = "TYPE_NARROWED" => false, false;
    TypeChanged = "TYPE_CHANGED" => false, false;
    MaxLengthAdded = "MAX_LENGTH_ADDED" => false, false;
    MaxLengthRemoved = "MAX_LENGTH_REMOVED" => true, true;
    MaxLengthIncreased = "MAX_LENGTH_INCREASED" => true, true;
    MaxLengthDecreased = "MAX_LENGTH_DECREASED" => false, false;
    MinLengthAdded = "MIN_LENGTH_ADDED" => false, false;
    MinLengthRemoved = "MIN_LENGTH_REMOVED" => true, true;
    MinLengthIncreased = "MIN_LENGTH_INCREASED" => false, false;
    MinLengthDecreased = "MIN_LENGTH_DECREASED" => true, true;
    PatternAdded = "PATTERN_ADDED" => false, false;
    PatternRemoved = "PATTERN_REMOVED" => true, true;
    PatternChanged = "PATTERN_CHANGED" => false, false;
    MaximumAdded = "MAXIMUM_ADDED" => false, false;
    MaximumRemoved = "MAXIMUM_REMOVED" => true, true;
    MaximumIncreased = "MAXIMUM_INCREASED" => true, true;
    MaximumDecreased = "MAXIMUM_DECREASED" => false, false;
    MinimumAdded = "MINIMUM_ADDED" => false, false;
    MinimumRemoved = "MINIMUM_REMOVED" => true, true;
    MinimumIncreased = "MINIMUM_INCREASED" => false, false;
    MinimumDecreased = "MINIMUM_DECREASED" => true, true;
    ExclusiveMaximumAdded = "EXCLUSIVE_MAXIMUM_ADDED" => false, false;
    ExclusiveMaximumRemoved = "EXCLUSIVE_MAXIMUM_REMOVED" => true, true;
    ExclusiveMaximumIncreased = "EXCLUSIVE_MAXIMUM_INCREASED" => true, true;
    ExclusiveMaximumDecreased = "EXCLUSIVE_MAXIMUM_DECREASED" => false, false;
    ExclusiveMinimumAdded = "EXCLUSIVE_MINIMUM_ADDED" => false, false;
    ExclusiveMinimumRemoved = "EXCLUSIVE_MINIMUM_REMOVED" => true, true;
    ExclusiveMinimumIncreased = "EXCLUSIVE_MINIMUM_INCREASED" => false, false;
    ExclusiveMinimumDecreased = "EXCLUSIVE_MINIMUM_DECREASED" => true, true;
    MultipleOfAdded = "MULTIPLE_OF_ADDED" => false, false;
    MultipleOfRemoved = "MULTIPLE_OF_REMOVED" => true, true;
    MultipleOfExpanded = "MULTIPLE_OF_EXPANDED" => false, false;
    MultipleOfReduced = "MULTIPLE_OF_REDUCED" => true, true;
    MultipleOfChanged = "MULTIPLE_OF_CHANGED" => false, false;
    RequiredAttributeAdded = "REQUIRED_ATTRIBUTE_ADDED" => false, false;
    RequiredAttributeWithDefaultAdded = "REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED" => true, true;
    RequiredAttributeRemoved = "REQUIRED_ATTRIBUTE_REMOVED" => true, true;
    MaxPropertiesAdded = "MAX_PROPERTIES_ADDED" => false, false;
    MaxPropertiesRemoved = "MAX_PROPERTIES_REMOVED" => true, true;
    MaxPropertiesIncreased = "MAX_PROPERTIES_INCREASED" => true, true;
    MaxPropertiesDecreased = "MAX_PROPERTIES_DECREASED" => false, false;
    MinPropertiesAdded = "MIN_PROPERTIES_ADDED" => false, false;
    MinPropertiesRemoved = "MIN_PROPERTIES_REMOVED" => true, true;
    MinPropertiesIncreased = "MIN_PROPERTIES_INCREASED" => false, false;
    MinPropertiesDecreased = "MIN_PROPERTIES_DECREASED" => true, true;
    AdditionalPropertiesAdded = "ADDITIONAL_PROPERTIES_ADDED" => true, true;
    AdditionalPropertiesRemoved = "ADDITIONAL_PROPERTIES_REMOVED" => false, true;
    AdditionalPropertiesExtended = "ADDITIONAL_PROPERTIES_EXTENDED" => true, true;
    AdditionalPropertiesNarrowed = "ADDITIONAL_PROPERTIES_NARROWED" => false, true;
    DependencyArrayAdded = "DEPENDENCY_ARRAY_ADDED" => false, false;
    DependencyArrayRemoved = "DEPENDENCY_ARRAY_REMOVED" => true, true;
    DependencyArrayExtended = "DEPENDENCY_ARRAY_EXTENDED" => false, false;
    DependencyArrayNarrowed = "DEPENDENCY_ARRAY_NARROWED" => true, true;
    DependencyArrayChanged = "DEPENDENCY_ARRAY_CHANGED" => false, false;
    DependencySchemaAdded = "DEPENDENCY_SCHEMA_ADDED" => false, false;
    DependencySchemaRemoved = "DEPENDENCY_SCHEMA_REMOVED" => true, true;
    RequiredPropertyAddedToOpenContentModel = "REQUIRED_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL" => false, false;
    RequiredPropertyWithDefaultAddedToOpenContentModel = "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_OPEN_CONTENT_MODEL" => false, true;
    OptionalPropertyAddedToOpenContentModel = "OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL" => false, true;
    PropertyWithEmptySchemaAddedToOpenContentModel = "PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL" => true, true;
    RequiredPropertyAddedToUnopenContentModel = "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL" => false, false;
    RequiredPropertyWithDefaultAddedToUnopenContentModel = "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL" => true, true;
    OptionalPropertyAddedToUnopenContentModel = "OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL" => true, true;
    PropertyRemovedFromOpenContentModel = "PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL" => true, true;
    PropertyWithFalseRemovedFromClosedContentModel = "PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL" => true, true;
    PropertyRemovedFromClosedContentModel = "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL" => false, true;
    PropertyRemovedIsCoveredByPartiallyOpenContentModel = "PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL" => true, true;
    PropertyRemovedNotCoveredByPartiallyOpenContentModel = "PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL" => false, true;
    PropertyAddedIsCoveredByPartiallyOpenContentModel = "PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL" => true, true;
    PropertyAddedNotCoveredByPartiallyOpenContentModel = "PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL" => false, true;
    UnevaluatedPropertiesAdded = "UNEVALUATED_PROPERTIES_ADDED" => true, true;
    UnevaluatedPropertiesRemoved = "UNEVALUATED_PROPERTIES_REMOVED" => false, true;
    UnevaluatedPropertiesExtended = "UNEVALUATED_PROPERTIES_EXTENDED" => true, true;
    UnevaluatedPropertiesNarrowed = "UNEVALUATED_PROPERTIES_NARROWED" => false, true;
    MaxItemsAdded = "MAX_ITEMS_ADDED" => false, false;
    MaxItemsRemoved = "MAX_ITEMS_REMOVED" => true, true;
    MaxItemsIncreased = "MAX_ITEMS_INCREASED" => true, true;
    MaxItemsDecreased = "MAX_ITEMS_DECREASED" => false, false;
    MinItemsAdded = "MIN_ITEMS_ADDED" => false, false;
    MinItemsRemoved = "MIN_ITEMS_REMOVED" => true, true;
    MinItemsIncreased = "MIN_ITEMS_INCREASED" => false, false;
    MinItemsDecreased = "MIN_ITEMS_DECREASED" => true, true;
    MaxContainsAdded = "MAX_CONTAINS_ADDED" => false, false;
    MaxContainsRemoved = "MAX_CONTAINS_REMOVED" => true, true;
    MaxContainsIncreased = "MAX_CONTAINS_INCREASED" => true, true;
    MaxContainsDecreased = "MAX_CONTAINS_DECREASED" => false, false;
    MinContainsAdded = "MIN_CONTAINS_ADDED" => false, false;
    MinContainsRemoved = "MIN_CONTAINS_REMOVED" => true, true;
    MinContainsIncreased = "MIN_CONTAINS_INCREASED" => false, false;
    MinContainsDecreased = "MIN_CONTAINS_DECREASED" => true, true;
    UniqueItemsAdded = "UNIQUE_ITEMS_ADDED" => false, false;
    UniqueItemsRemoved = "UNIQUE_ITEMS_REMOVED" => true, true;
    AdditionalItemsAdded = "ADDITIONAL_ITEMS_ADDED" => true, true;
    AdditionalItemsRemoved = "ADDITIONAL_ITEMS_REMOVED" => false, false;
    AdditionalItemsExtended = "ADDITIONAL_ITEMS_EXTENDED" => true, true;
    AdditionalItemsNarrowed = "ADDITIONAL_ITEMS_NARROWED" => false, false;
    UnevaluatedItemsAdded = "UNEVALUATED_ITEMS_ADDED" => true, true;
    UnevaluatedItemsRemoved = "UNEVALUATED_ITEMS_REMOVED" => false, false;
    UnevaluatedItemsExtended = "UNEVALUATED_ITEMS_EXTENDED" => true, true;
    UnevaluatedItemsNarrowed = "UNEVALUATED_ITEMS_NARROWED" => false, false;
    ItemAddedToOpenContentModel = "ITEM_ADDED_TO_OPEN_CONTENT_MODEL" => false, false;
    ItemWithEmptySchemaAddedToOpenContentModel = "ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL" => true, true;
    ItemAddedToClosedContentModel = "ITEM_ADDED_TO_CLOSED_CONTENT_MODEL" => true, true;
    ItemRemovedFromOpenContentModel = "ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL" => true, true;
    ItemWithFalseRemovedFromClosedContentModel = "ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL" => true, true;
    ItemRemovedFromClosedContentModel = "ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL" => false, false;
    ItemRemovedIsCoveredByPartiallyOpenContentModel = "ITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL" => true, true;
    ItemRemovedNotCoveredByPartiallyOpenContentModel = "ITEM_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL" => false, false;
    ItemAddedIsCoveredByPartiallyOpenContentModel = "ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL" => true, true;
    ItemAddedNotCoveredByPartiallyOpenContentModel = "ITEM_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL" => false, false;
    EnumArrayExtended = "ENUM_ARRAY_EXTENDED" => true, true;
    EnumArrayNarrowed = "ENUM_ARRAY_NARROWED" => false, false;
    EnumArrayChanged = "ENUM_ARRAY_CHANGED" => false, false;
    CombinedTypeExtended = "COMBINED_TYPE_EXTENDED" => true, true;
    CombinedTypeChanged = "COMBINED_TYPE_CHANGED" => false, false;
    ProductTypeExtended = "PRODUCT_TYPE_EXTENDED" => false, false;
    ProductTypeNarrowed = "PRODUCT_TYPE_NARROWED" => true, true;
    SumTypeExtended = "SUM_TYPE_EXTENDED" => true, true;
    SumTypeNarrowed = "SUM_TYPE_NARROWED" => false, false;
    CombinedTypeSubschemasChanged = "COMBINED_TYPE_SUBSCHEMAS_CHANGED" => false, false;
    NotTypeExtended = "NOT_TYPE_EXTENDED" => false, false;
    NotTypeNarrowed = "NOT_TYPE_NARROWED" => true, true;
}

/// One change between the original and the updated schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    pub kind: DiffKind,
    /// Where, in the updated schema when it has the place, else in the original
    /// (`#/properties/email`, Confluent's path style).
    pub path: String,
    /// JSON pointer into the original schema (for an addition: where it would be).
    pub original_pointer: String,
    /// JSON pointer into the updated schema (for a removal: where it was).
    pub update_pointer: String,
    /// What changed, in words, with the values involved.
    pub detail: String,
    /// The property concerned as a dotted path through the schemas as the comparison walked
    /// them (`customer.address.city`, `items[].sku`; [`crate::schema::field_path`]); `None`
    /// at the top level. A definition reached through `$ref` from several places is named
    /// by the first place it was reached from, as its findings are reported once.
    pub field: Option<String>,
    /// For a property added or removed that looks like a rename (the other side has a
    /// property of the same type at the same position, which this side lacks): its name in
    /// the original and in the updated schema.
    pub renamed: Option<(String, String)>,
}

/// Every difference between `original` and `update`, compatible or not; [`TooComplex`]
/// past [`super::MAX_STEPS`].
pub fn compare(original: &JsonSchema, update: &JsonSchema, policy: Policy) -> Result<Vec<Difference>, TooComplex> {
    run(original, update, policy, true)
}

/// Only the differences that break compatibility under `policy`: what a compatibility
/// check needs, without the cost of describing every harmless change.
pub fn incompatibilities(
    original: &JsonSchema,
    update: &JsonSchema,
    policy: Policy,
) -> Result<Vec<Difference>, TooComplex> {
    run(original, update, policy, false)
}

/// Whether `update` accepts every document `original` accepts.
pub fn is_compatible(original: &JsonSchema, update: &JsonSchema, policy: Policy) -> Result<bool, TooComplex> {
    incompatibilities(original, update, policy).map(|found| found.is_empty())
}

fn run(
    original: &JsonSchema,
    update: &JsonSchema,
    policy: Policy,
    record_compatible: bool,
) -> Result<Vec<Difference>, TooComplex> {
    let mut differ = Differ::new(original, update, policy, record_compatible, 0);
    let mut out = Vec::new();
    let root = Loc::Text("");
    differ.compare(&mut out, Some(original.root()), Some(update.root()), root, root);
    // A recursive schema meets the same place more than once; report it once.
    let mut seen = HashSet::default();
    out.retain(|d| seen.insert((d.kind, d.original_pointer.clone(), d.update_pointer.clone())));
    differ.budget.verdict(out)
}

/// A sanity bound on recursion (long `$ref` chains); the stack grows on demand up to here,
/// and beyond it the comparison reports `TYPE_CHANGED` rather than go on.
const MAX_DEPTH: usize = 10_000;

struct Differ<'a> {
    original: &'a JsonSchema,
    update: &'a JsonSchema,
    policy: Policy,
    /// Whether compatible differences are recorded too (diffs) or skipped (checks).
    record_compatible: bool,
    /// Pairs being compared right now: meeting one again means recursion, cut as compatible.
    visiting: HashSet<(JsonNodeId, JsonNodeId)>,
    /// How many times recursion was cut; results computed while cutting are not cached,
    /// since they assumed something not yet known.
    cycles_cut: usize,
    /// Results for pairs reached through `$ref`, which shared definitions reach many times.
    cache: HashMap<(JsonNodeId, JsonNodeId), Vec<Difference>>,
    depth: usize,
    budget: Budget,
    /// The dotted path of the place being compared, as steps (written out only when a
    /// difference is recorded).
    steps: Vec<Step<'a>>,
}

/// A place in one of the two schemas, turned into a JSON pointer only when a difference is
/// actually recorded: most comparisons find nothing, and should cost nothing.
#[derive(Clone, Copy)]
enum Loc<'s> {
    Node(JsonNodeId),
    /// `node`'s pointer followed by `keyword` and, if any, `name`.
    Child(JsonNodeId, &'static str, Option<&'s str>),
    Text(&'s str),
}

impl<'s> Loc<'s> {
    fn child(self, keyword: &'static str, name: Option<&'s str>) -> Loc<'s> {
        match self {
            Loc::Node(id) => Loc::Child(id, keyword, name),
            other => other,
        }
    }

    fn pointer(self, schema: &JsonSchema) -> String {
        match self {
            Loc::Node(id) => schema.location(id),
            Loc::Child(id, keyword, name) => {
                let base = pointer::push(&schema.location(id), keyword);
                match name {
                    Some(name) => pointer::push(&base, name),
                    None => base,
                }
            }
            Loc::Text(text) => text.to_string(),
        }
    }
}

/// The two places being compared.
#[derive(Clone, Copy)]
struct Site<'s> {
    original: Loc<'s>,
    update: Loc<'s>,
}

impl<'s> Site<'s> {
    /// The property a site is about, when one side names one (`…/properties/<name>`).
    fn property(&self) -> Option<&'s str> {
        [self.update, self.original].into_iter().find_map(|loc| match loc {
            Loc::Child(_, "properties", Some(name)) => Some(name),
            _ => None,
        })
    }
}

impl<'a> Differ<'a> {
    fn new(
        original: &'a JsonSchema,
        update: &'a JsonSchema,
        policy: Policy,
        record_compatible: bool,
        depth: usize,
    ) -> Self {
        Differ {
            original,
            update,
            policy,
            record_compatible,
            visiting: HashSet::default(),
            cycles_cut: 0,
            cache: HashMap::default(),
            depth,
            budget: Budget::default(),
            steps: Vec::new(),
        }
    }

    /// Runs `compare` one step further down the field path.
    fn compare_under(
        &mut self,
        step: Step<'a>,
        out: &mut Vec<Difference>,
        o: Option<JsonNodeId>,
        u: Option<JsonNodeId>,
        o_at: Loc<'_>,
        u_at: Loc<'_>,
    ) {
        self.steps.push(step);
        self.compare(out, o, u, o_at, u_at);
        self.steps.pop();
    }

    fn compare(
        &mut self,
        out: &mut Vec<Difference>,
        o: Option<JsonNodeId>,
        u: Option<JsonNodeId>,
        o_at: Loc<'_>,
        u_at: Loc<'_>,
    ) {
        let (o_in, u_in) = match (o, u) {
            (None, None) => return,
            (None, Some(u)) => {
                let site = Site {
                    original: o_at,
                    update: Loc::Node(u),
                };
                self.push(out, DiffKind::SchemaAdded, &site, || {
                    "a schema was added where there was none".into()
                });
                return;
            }
            (Some(o), None) => {
                let site = Site {
                    original: Loc::Node(o),
                    update: u_at,
                };
                self.push(out, DiffKind::SchemaRemoved, &site, || "a schema was removed".into());
                return;
            }
            (Some(o), Some(u)) => (o, u),
        };
        // Out of budget: unwind without judging; `run` reports it.
        if !self.budget.spend(1) {
            return;
        }
        let (o, u) = (self.original.resolve(o_in), self.update.resolve(u_in));
        let key = (o, u);
        let through_ref = o != o_in || u != u_in;
        if through_ref {
            if let Some(cached) = self.cache.get(&key) {
                out.extend(cached.iter().cloned());
                return;
            }
        }
        // Only a `$ref` can lead back to a pair being compared (a cycle must pass through
        // one), so only pairs reached through one are tracked: most comparisons hash nothing.
        if through_ref && self.visiting.contains(&key) {
            self.cycles_cut += 1;
            return;
        }
        if self.depth >= MAX_DEPTH {
            let site = Site {
                original: Loc::Node(o),
                update: Loc::Node(u),
            };
            self.push(out, DiffKind::TypeChanged, &site, || {
                format!("schemas nest deeper than {MAX_DEPTH} levels")
            });
            return;
        }
        if through_ref {
            self.visiting.insert(key);
        }
        self.depth += 1;
        let cuts_before = self.cycles_cut;
        let mut local = Vec::new();
        stacker::maybe_grow(64 * 1024, 1024 * 1024, || self.compare_resolved(&mut local, o, u));
        self.depth -= 1;
        if through_ref {
            self.visiting.remove(&key);
        }
        if through_ref && self.cycles_cut == cuts_before {
            self.cache.insert(key, local.clone());
        }
        out.extend(local);
    }

    /// Compares silently: the differences, and whether they are all compatible.
    fn trial(&mut self, o: JsonNodeId, u: JsonNodeId) -> (Vec<Difference>, bool) {
        let mut sub = Vec::new();
        self.compare(&mut sub, Some(o), Some(u), Loc::Text(""), Loc::Text(""));
        let ok = sub.iter().all(|d| d.kind.is_compatible(self.policy));
        (sub, ok)
    }

    fn push(&self, out: &mut Vec<Difference>, kind: DiffKind, site: &Site<'_>, detail: impl FnOnce() -> String) {
        self.push_renamed(out, kind, site, None, detail);
    }

    /// Records a difference; `renamed` is a probable rename (original name, updated name).
    fn push_renamed(
        &self,
        out: &mut Vec<Difference>,
        kind: DiffKind,
        site: &Site<'_>,
        renamed: Option<(&str, &str)>,
        detail: impl FnOnce() -> String,
    ) {
        if !self.record_compatible && kind.is_compatible(self.policy) {
            return;
        }
        // A difference about one property (added, removed, newly required) is placed at it.
        let property = site.property().map(Step::Field);
        let field = field_path::named(field_path::of_steps(self.steps.iter().copied().chain(property)));
        let original_pointer = site.original.pointer(self.original);
        let update_pointer = site.update.pointer(self.update);
        let shown = if update_pointer.is_empty() && !original_pointer.is_empty() {
            &original_pointer
        } else {
            &update_pointer
        };
        out.push(Difference {
            kind,
            path: format!("#{shown}"),
            original_pointer,
            update_pointer,
            detail: detail(),
            field,
            renamed: renamed.map(|(from, to)| (from.to_string(), to.to_string())),
        });
    }

    fn compare_resolved(&mut self, out: &mut Vec<Difference>, o: JsonNodeId, u: JsonNodeId) {
        let original = self.original;
        let update = self.update;
        let ok = &original.node(o).kind;
        let uk = &update.node(u).kind;
        let site = Site {
            original: Loc::Node(o),
            update: Loc::Node(u),
        };

        match (ok, uk) {
            (JsonKind::Combined { .. }, JsonKind::Combined { .. }) => {}
            (_, JsonKind::Combined { criterion, subschemas }) => {
                if let [single] = subschemas.as_slice() {
                    let (sub, ok) = self.trial(o, *single);
                    if ok {
                        out.extend(sub);
                        return;
                    }
                } else if matches!(criterion, Criterion::AnyOf | Criterion::OneOf) {
                    for member in subschemas {
                        let (sub, ok) = self.trial(o, *member);
                        if ok {
                            out.extend(sub);
                            self.push(out, DiffKind::SumTypeExtended, &site, || {
                                format!(
                                    "the schema became one of the alternatives of an {}",
                                    criterion.keyword()
                                )
                            });
                            return;
                        }
                    }
                }
            }
            (JsonKind::Combined { criterion, subschemas }, _) => {
                if let [single] = subschemas.as_slice() {
                    let (sub, ok) = self.trial(*single, u);
                    if ok {
                        out.extend(sub);
                        return;
                    }
                } else if *criterion == Criterion::AllOf {
                    for member in subschemas {
                        let (sub, ok) = self.trial(*member, u);
                        if ok {
                            out.extend(sub);
                            self.push(out, DiffKind::ProductTypeNarrowed, &site, || {
                                "an allOf was reduced to one of its parts".into()
                            });
                            return;
                        }
                    }
                }
            }
            _ => {}
        }

        if !same_class(ok, uk) {
            if matches!(ok, JsonKind::Nothing) || matches!(uk, JsonKind::Any) {
                return;
            }
            self.push(out, DiffKind::TypeChanged, &site, || {
                format!("the type changed from {} to {}", describe(ok), describe(uk))
            });
            return;
        }

        self.compare_annotations(out, o, u, &site);
        match (ok, uk) {
            (JsonKind::String(a), JsonKind::String(b)) => self.compare_strings(out, a, b, &site),
            (JsonKind::Number(a), JsonKind::Number(b)) => self.compare_numbers(out, a, b, &site),
            (JsonKind::Object(a), JsonKind::Object(b)) => self.compare_objects(out, a, b, &site),
            (JsonKind::Array(a), JsonKind::Array(b)) => self.compare_arrays(out, a, b, &site),
            (JsonKind::Enum(a), JsonKind::Enum(b)) => {
                let Some((in_b, in_a)) = self.enum_membership(a, b) else {
                    return;
                };
                let grown = in_b.iter().all(|&found| found);
                let shrunk = in_a.iter().all(|&found| found);
                let kind = match (grown, shrunk) {
                    (true, true) => return,
                    (true, false) => DiffKind::EnumArrayExtended,
                    (false, true) => DiffKind::EnumArrayNarrowed,
                    (false, false) => DiffKind::EnumArrayChanged,
                };
                let removed: Vec<String> = a
                    .iter()
                    .zip(&in_b)
                    .filter(|(_, &found)| !found)
                    .map(|(v, _)| v.to_string())
                    .collect();
                let added: Vec<String> = b
                    .iter()
                    .zip(&in_a)
                    .filter(|(_, &found)| !found)
                    .map(|(v, _)| v.to_string())
                    .collect();
                let detail = match (removed.is_empty(), added.is_empty()) {
                    (true, _) => format!("enum values added: {}", added.join(", ")),
                    (false, true) => format!("enum values removed: {}", removed.join(", ")),
                    (false, false) => format!(
                        "enum values removed: {}; added: {}",
                        removed.join(", "),
                        added.join(", ")
                    ),
                };
                self.push(out, kind, &site, || detail);
            }
            (JsonKind::Const(a), JsonKind::Const(b)) if !json_eq(a, b) => {
                self.push(out, DiffKind::EnumArrayChanged, &site, || {
                    format!("const changed from {a} to {b}")
                });
            }
            (
                JsonKind::Combined {
                    criterion: oc,
                    subschemas: os,
                },
                JsonKind::Combined {
                    criterion: uc,
                    subschemas: us,
                },
            ) => self.compare_combined(out, (*oc, os), (*uc, us), &site),
            (JsonKind::Not(a), JsonKind::Not(b)) => {
                // `not` turns the direction around: accepting more means negating less.
                let (_, ok) = self.trial_reversed(*b, *a);
                if ok {
                    self.push(out, DiffKind::NotTypeNarrowed, &site, || {
                        "the negated schema became wider".into()
                    });
                } else {
                    self.push(out, DiffKind::NotTypeExtended, &site, || {
                        "the negated schema accepts values it did not".into()
                    });
                }
            }
            _ => {}
        }
    }

    /// For two enums: whether each value of `a` is in `b`, and each value of `b` in `a`.
    /// Scalar values (the usual enum) are matched through a hash set, in linear time;
    /// enums of objects or arrays pairwise, paid for from the budget. `None` when the budget
    /// is spent.
    fn enum_membership(&mut self, a: &[Value], b: &[Value]) -> Option<(Vec<bool>, Vec<bool>)> {
        let scalar = |v: &Value| !matches!(v, Value::Array(_) | Value::Object(_));
        if a.iter().all(scalar) && b.iter().all(scalar) {
            if !self.budget.spend((a.len() + b.len()) as u64) {
                return None;
            }
            let keys_a: HashSet<String> = a.iter().map(scalar_key).collect();
            let keys_b: HashSet<String> = b.iter().map(scalar_key).collect();
            let in_b = a.iter().map(|v| keys_b.contains(&scalar_key(v))).collect();
            let in_a = b.iter().map(|v| keys_a.contains(&scalar_key(v))).collect();
            return Some((in_b, in_a));
        }
        if !self.budget.spend((a.len() as u64).saturating_mul(b.len() as u64)) {
            return None;
        }
        let in_b = a.iter().map(|v| b.iter().any(|w| json_eq(v, w))).collect();
        let in_a = b.iter().map(|v| a.iter().any(|w| json_eq(v, w))).collect();
        Some((in_b, in_a))
    }

    /// A trial with the roles swapped (for `not`): `o` from the update, `u` from the original.
    /// It spends from the same budget.
    fn trial_reversed(&mut self, o: JsonNodeId, u: JsonNodeId) -> (Vec<Difference>, bool) {
        let mut reversed = Differ::new(
            self.update,
            self.original,
            self.policy,
            self.record_compatible,
            self.depth,
        );
        reversed.budget = std::mem::take(&mut self.budget);
        let result = reversed.trial(o, u);
        self.budget = reversed.budget;
        result
    }

    fn compare_annotations(&self, out: &mut Vec<Difference>, o: JsonNodeId, u: JsonNodeId, site: &Site<'_>) {
        // Annotation changes are always compatible: a check need not look at them.
        if !self.record_compatible {
            return;
        }
        let (a, b) = (self.original.annotations(o), self.update.annotations(u));
        if a.is_none() && b.is_none() {
            return;
        }
        let none = Annotations::default();
        let (a, b) = (a.unwrap_or(&none), b.unwrap_or(&none));
        if a.id != b.id {
            self.push(out, DiffKind::IdChanged, site, || "$id changed".into());
        }
        if a.title != b.title {
            self.push(out, DiffKind::TitleChanged, site, || "title changed".into());
        }
        if a.description != b.description {
            self.push(out, DiffKind::DescriptionChanged, site, || "description changed".into());
        }
        if a.default != b.default {
            self.push(out, DiffKind::DefaultChanged, site, || "default changed".into());
        }
    }

    fn compare_strings(&self, out: &mut Vec<Difference>, a: &StringRules, b: &StringRules, site: &Site<'_>) {
        use DiffKind::*;
        for (keyword, old, new, kinds) in [
            (
                "maxLength",
                a.max_length.map(|v| v as f64),
                b.max_length.map(|v| v as f64),
                [MaxLengthAdded, MaxLengthRemoved, MaxLengthIncreased, MaxLengthDecreased],
            ),
            (
                "minLength",
                a.min_length.map(|v| v as f64),
                b.min_length.map(|v| v as f64),
                [MinLengthAdded, MinLengthRemoved, MinLengthIncreased, MinLengthDecreased],
            ),
        ] {
            self.bound(out, site, keyword, old, new, kinds);
        }
        match (&a.pattern, &b.pattern) {
            (None, Some(p)) => self.push(out, PatternAdded, site, || format!("pattern {p:?} added")),
            (Some(p), None) => self.push(out, PatternRemoved, site, || format!("pattern {p:?} removed")),
            (Some(p), Some(q)) if p != q => self.push(out, PatternChanged, site, || {
                format!("pattern changed from {p:?} to {q:?}")
            }),
            _ => {}
        }
    }

    fn compare_numbers(&self, out: &mut Vec<Difference>, a: &NumberRules, b: &NumberRules, site: &Site<'_>) {
        use DiffKind::*;
        for (keyword, old, new, kinds) in [
            (
                "maximum",
                a.maximum,
                b.maximum,
                [MaximumAdded, MaximumRemoved, MaximumIncreased, MaximumDecreased],
            ),
            (
                "minimum",
                a.minimum,
                b.minimum,
                [MinimumAdded, MinimumRemoved, MinimumIncreased, MinimumDecreased],
            ),
            (
                "exclusiveMaximum",
                a.exclusive_maximum,
                b.exclusive_maximum,
                [
                    ExclusiveMaximumAdded,
                    ExclusiveMaximumRemoved,
                    ExclusiveMaximumIncreased,
                    ExclusiveMaximumDecreased,
                ],
            ),
            (
                "exclusiveMinimum",
                a.exclusive_minimum,
                b.exclusive_minimum,
                [
                    ExclusiveMinimumAdded,
                    ExclusiveMinimumRemoved,
                    ExclusiveMinimumIncreased,
                    ExclusiveMinimumDecreased,
                ],
            ),
        ] {
            self.bound(out, site, keyword, old, new, kinds);
        }
        match (a.multiple_of, b.multiple_of) {
            (None, Some(m)) => self.push(out, MultipleOfAdded, site, || format!("multipleOf {m} added")),
            (Some(m), None) => self.push(out, MultipleOfRemoved, site, || format!("multipleOf {m} removed")),
            (Some(m), Some(n)) if m != n => {
                let kind = if is_multiple(n, m) {
                    MultipleOfExpanded
                } else if is_multiple(m, n) {
                    MultipleOfReduced
                } else {
                    MultipleOfChanged
                };
                self.push(out, kind, site, || format!("multipleOf changed from {m} to {n}"));
            }
            _ => {}
        }
        if a.integer != b.integer {
            if a.integer {
                self.push(out, TypeExtended, site, || {
                    "the type widened from integer to number".into()
                });
            } else {
                self.push(out, TypeNarrowed, site, || {
                    "the type narrowed from number to integer".into()
                });
            }
        }
    }

    /// ADDED / REMOVED / INCREASED / DECREASED for a numeric limit.
    fn bound(
        &self,
        out: &mut Vec<Difference>,
        site: &Site<'_>,
        keyword: &str,
        a: Option<f64>,
        b: Option<f64>,
        kinds: [DiffKind; 4],
    ) {
        let [added, removed, increased, decreased] = kinds;
        match (a, b) {
            (None, Some(v)) => self.push(out, added, site, || format!("{keyword} {} added", number(v))),
            (Some(v), None) => self.push(out, removed, site, || format!("{keyword} {} removed", number(v))),
            (Some(v), Some(w)) if w > v => self.push(out, increased, site, || {
                format!("{keyword} raised from {} to {}", number(v), number(w))
            }),
            (Some(v), Some(w)) if w < v => self.push(out, decreased, site, || {
                format!("{keyword} lowered from {} to {}", number(v), number(w))
            }),
            _ => {}
        }
    }

    fn compare_objects(&mut self, out: &mut Vec<Difference>, a: &'a ObjectRules, b: &'a ObjectRules, site: &Site<'_>) {
        use DiffKind::*;
        for (keyword, old, new, kinds) in [
            (
                "maxProperties",
                a.max_properties.map(|v| v as f64),
                b.max_properties.map(|v| v as f64),
                [
                    MaxPropertiesAdded,
                    MaxPropertiesRemoved,
                    MaxPropertiesIncreased,
                    MaxPropertiesDecreased,
                ],
            ),
            (
                "minProperties",
                a.min_properties.map(|v| v as f64),
                b.min_properties.map(|v| v as f64),
                [
                    MinPropertiesAdded,
                    MinPropertiesRemoved,
                    MinPropertiesIncreased,
                    MinPropertiesDecreased,
                ],
            ),
        ] {
            self.bound(out, site, keyword, old, new, kinds);
        }
        self.compare_additional(
            out,
            site,
            "additionalProperties",
            a.additional,
            b.additional,
            [
                AdditionalPropertiesRemoved,
                AdditionalPropertiesAdded,
                AdditionalPropertiesNarrowed,
                AdditionalPropertiesExtended,
            ],
        );
        self.compare_additional(
            out,
            site,
            "unevaluatedProperties",
            a.unevaluated,
            b.unevaluated,
            [
                UnevaluatedPropertiesRemoved,
                UnevaluatedPropertiesAdded,
                UnevaluatedPropertiesNarrowed,
                UnevaluatedPropertiesExtended,
            ],
        );

        // Dependencies, array form.
        for (name, deps) in &a.dependent_required {
            match b.dependent_required.iter().find(|(n, _)| n == name) {
                None => self.push(out, DependencyArrayRemoved, site, || {
                    format!("dependency of \"{name}\" removed")
                }),
                Some((_, new_deps)) => {
                    let grown = deps.iter().all(|d| new_deps.contains(d));
                    let shrunk = new_deps.iter().all(|d| deps.contains(d));
                    let kind = match (grown, shrunk) {
                        (true, true) => continue,
                        (true, false) => DependencyArrayExtended,
                        (false, true) => DependencyArrayNarrowed,
                        (false, false) => DependencyArrayChanged,
                    };
                    self.push(out, kind, site, || {
                        format!("properties required with \"{name}\" changed from {deps:?} to {new_deps:?}")
                    });
                }
            }
        }
        for (name, _) in &b.dependent_required {
            if !a.dependent_required.iter().any(|(n, _)| n == name) {
                self.push(out, DependencyArrayAdded, site, || {
                    format!("dependency of \"{name}\" added")
                });
            }
        }
        // Dependencies, schema form.
        for (name, schema) in &a.dependent_schemas {
            match b.dependent_schemas.iter().find(|(n, _)| n == name) {
                None => self.push(out, DependencySchemaRemoved, site, || {
                    format!("schema dependency of \"{name}\" removed")
                }),
                Some((_, new_schema)) => {
                    self.compare(out, Some(*schema), Some(*new_schema), Loc::Text(""), Loc::Text(""))
                }
            }
        }
        for (name, _) in &b.dependent_schemas {
            if !a.dependent_schemas.iter().any(|(n, _)| n == name) {
                self.push(out, DependencySchemaAdded, site, || {
                    format!("schema dependency of \"{name}\" added")
                });
            }
        }

        // Properties present on both sides: requiredness and schemas. Sets, because objects
        // with thousands of properties exist.
        let update_props = NameIndex::new(&b.properties);
        let original_props = NameIndex::new(&a.properties);
        let original_required = |name: &str| a.required.iter().any(|r| r == name);
        let update_required = |name: &str| b.required.iter().any(|r| r == name);
        for name in &a.required {
            if !update_required(name) {
                let at = Self::property_site(site, name);
                self.push(out, RequiredAttributeRemoved, &at, || {
                    format!("property \"{name}\" is no longer required")
                });
            }
        }
        for name in &b.required {
            if original_required(name) {
                continue;
            }
            let newly_declared = update_props.get(name, None).is_some() && original_props.get(name, None).is_none();
            if newly_declared {
                continue; // judged below, with the content model
            }
            let at = Self::property_site(site, name);
            let has_default = update_props
                .get(name, None)
                .is_some_and(|id| self.update_has_default(id));
            if has_default {
                self.push(out, RequiredAttributeWithDefaultAdded, &at, || {
                    format!("property \"{name}\" became required, with a default")
                });
            } else {
                self.push(out, RequiredAttributeAdded, &at, || {
                    format!("property \"{name}\" became required")
                });
            }
        }

        for (position, (name, old_schema)) in a.properties.iter().enumerate() {
            let old_at = site.original.child("properties", Some(name));
            let new_at = site.update.child("properties", Some(name));
            match update_props.get(name, Some(position)) {
                Some(new_schema) => self.compare_under(
                    Step::Field(name),
                    out,
                    Some(*old_schema),
                    Some(new_schema),
                    old_at,
                    new_at,
                ),
                None => {
                    let removed_site = Site {
                        original: old_at,
                        update: site.update,
                    };
                    let (kind, detail) = if b.is_open() {
                        (
                            PropertyRemovedFromOpenContentModel,
                            format!("property \"{name}\" removed; the object still allows any other property"),
                        )
                    } else if let Some(covering) = b.covering_schema(name) {
                        let (_, ok) = self.trial(*old_schema, covering);
                        if ok {
                            (PropertyRemovedIsCoveredByPartiallyOpenContentModel, format!("property \"{name}\" removed; its values still match the schema for other properties"))
                        } else {
                            (PropertyRemovedNotCoveredByPartiallyOpenContentModel, format!("property \"{name}\" removed, and its old values do not match the schema for other properties"))
                        }
                    } else if matches!(
                        self.original.node(self.original.resolve(*old_schema)).kind,
                        JsonKind::Nothing
                    ) {
                        (
                            PropertyWithFalseRemovedFromClosedContentModel,
                            format!("property \"{name}\" (which allowed no value) removed"),
                        )
                    } else {
                        (
                            PropertyRemovedFromClosedContentModel,
                            format!("property \"{name}\" removed from an object that allows no other properties"),
                        )
                    };
                    let renamed = self.renamed_property(b, &original_props, position, (name, *old_schema), false);
                    self.push_renamed(out, kind, &removed_site, renamed, || detail);
                }
            }
        }
        for (position, (name, new_schema)) in b.properties.iter().enumerate() {
            if original_props.get(name, Some(position)).is_some() {
                continue;
            }
            let new_at = site.update.child("properties", Some(name));
            let added_site = Site {
                original: site.original,
                update: new_at,
            };
            let required = update_required(name);
            let has_default = self.update_has_default(*new_schema);
            let renamed = self.renamed_property(a, &update_props, position, (name, *new_schema), true);
            if a.is_open() {
                let (kind, detail) = if matches!(self.update.node(self.update.resolve(*new_schema)).kind, JsonKind::Any)
                {
                    (
                        PropertyWithEmptySchemaAddedToOpenContentModel,
                        format!("property \"{name}\" added, accepting any value"),
                    )
                } else if required && has_default {
                    (RequiredPropertyWithDefaultAddedToOpenContentModel, format!("required property \"{name}\" (with a default) added to an object that allowed any property"))
                } else if required {
                    (
                        RequiredPropertyAddedToOpenContentModel,
                        format!("required property \"{name}\" added"),
                    )
                } else {
                    (
                        OptionalPropertyAddedToOpenContentModel,
                        format!(
                            "optional property \"{name}\" added to an object that allowed any value under that name"
                        ),
                    )
                };
                self.push_renamed(out, kind, &added_site, renamed, || detail);
            } else {
                if let Some(covering) = a.covering_schema(name) {
                    let (_, ok) = self.trial(covering, *new_schema);
                    if ok {
                        self.push(
                            out,
                            PropertyAddedIsCoveredByPartiallyOpenContentModel,
                            &added_site,
                            || {
                                format!(
                                "property \"{name}\" added, accepting what the schema for other properties accepted"
                            )
                            },
                        );
                    } else {
                        self.push(
                            out,
                            PropertyAddedNotCoveredByPartiallyOpenContentModel,
                            &added_site,
                            || {
                                format!(
                                "property \"{name}\" added, rejecting values the schema for other properties accepted"
                            )
                            },
                        );
                    }
                }
                let (kind, detail) = if required && has_default {
                    (
                        RequiredPropertyWithDefaultAddedToUnopenContentModel,
                        format!("required property \"{name}\" added, with a default"),
                    )
                } else if required {
                    (
                        RequiredPropertyAddedToUnopenContentModel,
                        format!("required property \"{name}\" added"),
                    )
                } else {
                    (
                        OptionalPropertyAddedToUnopenContentModel,
                        format!("optional property \"{name}\" added"),
                    )
                };
                self.push_renamed(out, kind, &added_site, renamed, || detail);
            }
        }
    }

    /// A property `name` added to (or removed from) `this` (its properties by name) that
    /// looks renamed: `other` has, at the same position, a property `this` lacks, whose
    /// schema is of the same type.
    /// `this_is_update` says which schema `this` belongs to. The names come back as
    /// (original, updated).
    fn renamed_property<'n>(
        &self,
        other: &'n ObjectRules,
        this: &NameIndex<'_>,
        position: usize,
        (name, schema): (&'n str, JsonNodeId),
        this_is_update: bool,
    ) -> Option<(&'n str, &'n str)> {
        let (other_name, candidate) = other.properties.get(position)?;
        if this.get(other_name, Some(position)).is_some() {
            return None;
        }
        let (this_schema, other_schema) = if this_is_update {
            (self.update, self.original)
        } else {
            (self.original, self.update)
        };
        let this_kind = &this_schema.node(this_schema.resolve(schema)).kind;
        let other_kind = &other_schema.node(other_schema.resolve(*candidate)).kind;
        if describe(this_kind) != describe(other_kind) {
            return None;
        }
        Some(if this_is_update {
            (other_name.as_str(), name)
        } else {
            (name, other_name.as_str())
        })
    }

    fn property_site<'s>(site: &Site<'s>, name: &'s str) -> Site<'s> {
        Site {
            original: site.original.child("properties", Some(name)),
            update: site.update.child("properties", Some(name)),
        }
    }

    fn update_has_default(&self, id: JsonNodeId) -> bool {
        let has = |id: JsonNodeId| self.update.annotations(id).is_some_and(|a| a.default.is_some());
        has(id) || has(self.update.resolve(id))
    }

    /// `additionalProperties`-like keywords: flag flips, schemas added or dropped, recursion.
    fn compare_additional(
        &mut self,
        out: &mut Vec<Difference>,
        site: &Site<'_>,
        keyword: &str,
        a: Additional,
        b: Additional,
        kinds: [DiffKind; 4],
    ) {
        let [removed, added, narrowed, extended] = kinds;
        match (a, b) {
            (Additional::Allowed, Additional::Forbidden) | (Additional::Schema(_), Additional::Forbidden) => {
                self.push(out, removed, site, || format!("{keyword} set to false"))
            }
            (Additional::Forbidden, Additional::Allowed) | (Additional::Forbidden, Additional::Schema(_)) => {
                self.push(out, added, site, || format!("{keyword} no longer false"))
            }
            (Additional::Allowed, Additional::Schema(_)) => {
                self.push(out, narrowed, site, || format!("{keyword} now restricted by a schema"))
            }
            (Additional::Schema(_), Additional::Allowed) => {
                self.push(out, extended, site, || format!("{keyword} schema removed"))
            }
            (Additional::Schema(x), Additional::Schema(y)) => {
                // The values of other properties, or other items.
                let step = if keyword.ends_with("Items") {
                    Step::Items
                } else {
                    Step::Values
                };
                self.compare_under(step, out, Some(x), Some(y), Loc::Text(""), Loc::Text(""))
            }
            _ => {}
        }
    }

    fn compare_arrays(&mut self, out: &mut Vec<Difference>, a: &ArrayRules, b: &ArrayRules, site: &Site<'_>) {
        use DiffKind::*;
        for (keyword, old, new, kinds) in [
            (
                "maxItems",
                a.max_items.map(|v| v as f64),
                b.max_items.map(|v| v as f64),
                [MaxItemsAdded, MaxItemsRemoved, MaxItemsIncreased, MaxItemsDecreased],
            ),
            (
                "minItems",
                a.min_items.map(|v| v as f64),
                b.min_items.map(|v| v as f64),
                [MinItemsAdded, MinItemsRemoved, MinItemsIncreased, MinItemsDecreased],
            ),
            (
                "maxContains",
                a.max_contains.map(|v| v as f64),
                b.max_contains.map(|v| v as f64),
                [
                    MaxContainsAdded,
                    MaxContainsRemoved,
                    MaxContainsIncreased,
                    MaxContainsDecreased,
                ],
            ),
            (
                "minContains",
                a.min_contains.map(|v| v as f64),
                b.min_contains.map(|v| v as f64),
                [
                    MinContainsAdded,
                    MinContainsRemoved,
                    MinContainsIncreased,
                    MinContainsDecreased,
                ],
            ),
        ] {
            self.bound(out, site, keyword, old, new, kinds);
        }
        match (a.unique_items, b.unique_items) {
            (false, true) => self.push(out, UniqueItemsAdded, site, || "uniqueItems added".into()),
            (true, false) => self.push(out, UniqueItemsRemoved, site, || "uniqueItems removed".into()),
            _ => {}
        }
        self.compare_additional(
            out,
            site,
            "additionalItems",
            a.additional,
            b.additional,
            [
                AdditionalItemsRemoved,
                AdditionalItemsAdded,
                AdditionalItemsNarrowed,
                AdditionalItemsExtended,
            ],
        );
        self.compare_additional(
            out,
            site,
            "unevaluatedItems",
            a.unevaluated,
            b.unevaluated,
            [
                UnevaluatedItemsRemoved,
                UnevaluatedItemsAdded,
                UnevaluatedItemsNarrowed,
                UnevaluatedItemsExtended,
            ],
        );

        let o_items = site.original.child("items", None);
        let u_items = site.update.child("items", None);
        if a.items.is_some() || b.items.is_some() {
            self.compare_under(Step::Items, out, a.items, b.items, o_items, u_items);
        }
        let empty = Vec::new();
        let old_tuple = a.tuple.as_ref().unwrap_or(&empty);
        let new_tuple = b.tuple.as_ref().unwrap_or(&empty);
        for i in 0..old_tuple.len().max(new_tuple.len()) {
            match (old_tuple.get(i), new_tuple.get(i)) {
                (Some(x), Some(y)) => {
                    self.compare_under(Step::Items, out, Some(*x), Some(*y), Loc::Text(""), Loc::Text(""))
                }
                (Some(x), None) => {
                    let removed_site = Site {
                        original: Loc::Node(*x),
                        update: site.update,
                    };
                    let (kind, detail) = if b.is_open() {
                        (
                            ItemRemovedFromOpenContentModel,
                            format!("tuple item {i} removed; any value is accepted there now"),
                        )
                    } else if let Some(covering) = b.covering_schema() {
                        let (_, ok) = self.trial(*x, covering);
                        if ok {
                            (
                                ItemRemovedIsCoveredByPartiallyOpenContentModel,
                                format!("tuple item {i} removed; its values still match additionalItems"),
                            )
                        } else {
                            (
                                ItemRemovedNotCoveredByPartiallyOpenContentModel,
                                format!("tuple item {i} removed, and its old values do not match additionalItems"),
                            )
                        }
                    } else if matches!(self.original.node(self.original.resolve(*x)).kind, JsonKind::Nothing) {
                        (
                            ItemWithFalseRemovedFromClosedContentModel,
                            format!("tuple item {i} (which allowed no value) removed"),
                        )
                    } else {
                        (
                            ItemRemovedFromClosedContentModel,
                            format!("tuple item {i} removed from a tuple that allows no more items"),
                        )
                    };
                    self.push(out, kind, &removed_site, || detail);
                }
                (None, Some(y)) => {
                    let added_site = Site {
                        original: site.original,
                        update: Loc::Node(*y),
                    };
                    let (kind, detail) = if a.is_open() {
                        if matches!(self.update.node(self.update.resolve(*y)).kind, JsonKind::Any) {
                            (
                                ItemWithEmptySchemaAddedToOpenContentModel,
                                format!("tuple item {i} added, accepting any value"),
                            )
                        } else {
                            (
                                ItemAddedToOpenContentModel,
                                format!("tuple item {i} added where any value was accepted"),
                            )
                        }
                    } else if let Some(covering) = a.covering_schema() {
                        let (_, ok) = self.trial(covering, *y);
                        if ok {
                            (
                                ItemAddedIsCoveredByPartiallyOpenContentModel,
                                format!("tuple item {i} added, accepting what additionalItems accepted"),
                            )
                        } else {
                            (
                                ItemAddedNotCoveredByPartiallyOpenContentModel,
                                format!("tuple item {i} added, rejecting values additionalItems accepted"),
                            )
                        }
                    } else {
                        (ItemAddedToClosedContentModel, format!("tuple item {i} added"))
                    };
                    self.push(out, kind, &added_site, || detail);
                }
                (None, None) => {}
            }
        }
    }

    fn compare_combined(
        &mut self,
        out: &mut Vec<Difference>,
        (oc, os): (Criterion, &Vec<JsonNodeId>),
        (uc, us): (Criterion, &Vec<JsonNodeId>),
        site: &Site<'_>,
    ) {
        use DiffKind::*;
        if oc != uc {
            let widening = uc == Criterion::AnyOf
                || (os.len() == 1 && us.len() == 1)
                || (os.len() == 1 && uc == Criterion::OneOf)
                || (oc == Criterion::AllOf && us.len() == 1);
            if widening {
                self.push(out, CombinedTypeExtended, site, || {
                    format!("{} became {}", oc.keyword(), uc.keyword())
                });
            } else {
                self.push(out, CombinedTypeChanged, site, || {
                    format!("{} became {}", oc.keyword(), uc.keyword())
                });
                return;
            }
        }
        let originals = self.distinct_members(os, true);
        let updates = self.distinct_members(us, false);
        if originals.len() < updates.len() {
            if uc == Criterion::AllOf {
                self.push(out, ProductTypeExtended, site, || {
                    "allOf gained a schema every value must also match".into()
                });
            } else {
                self.push(out, SumTypeExtended, site, || {
                    format!("{} gained an alternative", uc.keyword())
                });
            }
        } else if originals.len() > updates.len() {
            if matches!(oc, Criterion::AnyOf | Criterion::OneOf) {
                self.push(out, SumTypeNarrowed, site, || {
                    format!("{} lost an alternative", oc.keyword())
                });
            } else {
                self.push(out, ProductTypeNarrowed, site, || "allOf lost a schema".into());
            }
        }
        // Members kept in place are the common case: if each old member matches the new one
        // at its position, that is already a perfect matching.
        if originals.len() == updates.len() {
            let mut in_place = Vec::new();
            let mut all_match = true;
            for (&o, &u) in originals.iter().zip(&updates) {
                if self.certainly_different_types(o, u) {
                    all_match = false;
                    break;
                }
                let (sub, ok) = self.trial(o, u);
                if !ok {
                    all_match = false;
                    break;
                }
                in_place.extend(sub);
            }
            if all_match {
                out.extend(in_place);
                return;
            }
        }
        // Which old member can each new member stand in for? Then a maximum matching. Every
        // pair may be tried: quadratic in the list lengths, which the budget pays for up
        // front (two lists of 3,000 that changed order are refused at once).
        if !self
            .budget
            .spend((originals.len() as u64).saturating_mul(updates.len() as u64))
        {
            return;
        }
        let mut edges: Vec<Vec<(usize, Vec<Difference>)>> = Vec::with_capacity(originals.len());
        for &o in &originals {
            let mut row = Vec::new();
            for (j, &u) in updates.iter().enumerate() {
                if self.certainly_different_types(o, u) {
                    continue;
                }
                let (sub, ok) = self.trial(o, u);
                if ok {
                    row.push((j, sub));
                }
            }
            edges.push(row);
        }
        let adjacency: Vec<Vec<usize>> = edges.iter().map(|row| row.iter().map(|(j, _)| *j).collect()).collect();
        let matched = maximum_matching(&adjacency, updates.len());
        let matched_count = matched.iter().filter(|m| m.is_some()).count();
        if matched_count < originals.len().min(updates.len()) {
            self.push(out, CombinedTypeSubschemasChanged, site, || {
                format!("the {} alternatives no longer correspond one to one", uc.keyword())
            });
            return;
        }
        for (i, m) in matched.iter().enumerate() {
            if let Some(j) = m {
                if let Some((_, sub)) = edges[i].iter().find(|(k, _)| k == j) {
                    out.extend(sub.iter().cloned());
                }
            }
        }
    }

    /// Whether comparing `o` with `u` can only end in TYPE_CHANGED: plain schemas of
    /// different classes. Saves the trial (and its messages) for most pairs of a matching.
    fn certainly_different_types(&self, o: JsonNodeId, u: JsonNodeId) -> bool {
        let ok = &self.original.node(self.original.resolve(o)).kind;
        let uk = &self.update.node(self.update.resolve(u)).kind;
        let plain = |k: &JsonKind| !matches!(k, JsonKind::Combined { .. } | JsonKind::Any | JsonKind::Nothing);
        plain(ok) && plain(uk) && !same_class(ok, uk)
    }

    /// Members with duplicates collapsed: the same definition, or the same JSON written twice
    /// (same text in the same document means the same schema, `$ref`s included).
    /// Hashed, so that long lists cost linear time.
    fn distinct_members(&self, members: &[JsonNodeId], original: bool) -> Vec<JsonNodeId> {
        let schema = if original { self.original } else { self.update };
        let mut distinct: Vec<JsonNodeId> = Vec::with_capacity(members.len());
        let mut targets: HashSet<JsonNodeId> = HashSet::default();
        let mut sources: HashSet<(usize, &str)> = HashSet::default();
        for &m in members {
            let target = schema.resolve(m);
            let source = schema.source(m).map(|text| (schema.node(m).document, text));
            let duplicate = targets.contains(&target) || source.is_some_and(|s| sources.contains(&s));
            if !duplicate {
                targets.insert(target);
                sources.extend(source);
                distinct.push(m);
            }
        }
        distinct
    }
}

/// An object's properties looked up by name. Versions of a schema mostly keep property
/// order, so the same position is tried first; then a scan for small objects, or a hash map
/// (built on first need) for objects with many properties.
struct NameIndex<'r> {
    properties: &'r [(String, JsonNodeId)],
    map: std::cell::OnceCell<HashMap<&'r str, JsonNodeId>>,
}

impl<'r> NameIndex<'r> {
    fn new(properties: &'r [(String, JsonNodeId)]) -> Self {
        NameIndex {
            properties,
            map: std::cell::OnceCell::new(),
        }
    }

    fn get(&self, name: &str, position_hint: Option<usize>) -> Option<JsonNodeId> {
        if let Some((n, id)) = position_hint.and_then(|p| self.properties.get(p)) {
            if n == name {
                return Some(*id);
            }
        }
        if self.properties.len() <= 16 {
            return self.properties.iter().find(|(n, _)| n == name).map(|(_, id)| *id);
        }
        let map = self
            .map
            .get_or_init(|| self.properties.iter().map(|(n, id)| (n.as_str(), *id)).collect());
        map.get(name).copied()
    }
}

/// Kuhn's augmenting paths; member lists are short, so O(V·E) is plenty.
fn maximum_matching(adjacency: &[Vec<usize>], right: usize) -> Vec<Option<usize>> {
    fn augment(i: usize, adjacency: &[Vec<usize>], seen: &mut [bool], owner: &mut [Option<usize>]) -> bool {
        for &j in &adjacency[i] {
            if seen[j] {
                continue;
            }
            seen[j] = true;
            if owner[j].is_none() || augment(owner[j].expect("checked"), adjacency, seen, owner) {
                owner[j] = Some(i);
                return true;
            }
        }
        false
    }
    let mut owner: Vec<Option<usize>> = vec![None; right];
    for i in 0..adjacency.len() {
        let mut seen = vec![false; right];
        augment(i, adjacency, &mut seen, &mut owner);
    }
    let mut matched = vec![None; adjacency.len()];
    for (j, o) in owner.iter().enumerate() {
        if let Some(i) = o {
            matched[*i] = Some(j);
        }
    }
    matched
}

/// Same schema class, in everit's sense (integer and number are one class).
fn same_class(a: &JsonKind, b: &JsonKind) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}

fn describe(kind: &JsonKind) -> &'static str {
    match kind {
        JsonKind::Any => "any value",
        JsonKind::Nothing => "no value",
        JsonKind::Null => "null",
        JsonKind::Boolean => "boolean",
        JsonKind::String(_) => "string",
        JsonKind::Number(n) if n.integer => "integer",
        JsonKind::Number(_) => "number",
        JsonKind::Object(_) => "object",
        JsonKind::Array(_) => "array",
        JsonKind::Enum(_) => "enum",
        JsonKind::Const(_) => "const",
        JsonKind::Combined { criterion, .. } => criterion.keyword(),
        JsonKind::Not(_) => "not",
        JsonKind::Ref(_) => "$ref",
    }
}

/// A scalar's identity for enum matching, agreeing with [`json_eq`]: numbers by their value
/// as a double (`1` and `1.0` alike), everything else by its JSON text.
fn scalar_key(value: &Value) -> String {
    match value {
        Value::Number(n) => match n.as_f64() {
            Some(f) => format!("n{f:?}"),
            None => format!("n{n}"),
        },
        other => other.to_string(),
    }
}

/// JSON equality with numbers compared by value (`1` equals `1.0`).
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

/// Is `a` a whole multiple of `b`?
fn is_multiple(a: f64, b: f64) -> bool {
    if b == 0.0 {
        return false;
    }
    let q = a / b;
    (q - q.round()).abs() < 1e-9 * q.abs().max(1.0)
}

/// Numbers in messages: `5`, not `5.0`.
fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        v.to_string()
    }
}
