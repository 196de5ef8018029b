//! Configs and modes, global and per subject.

use sqlx::AnyConnection;

use super::context::{self, Context, QualifiedSubject};
use super::{subject_name, Config, Core, Mode, RegistryError};
use crate::compat::CompatibilityLevel;
use crate::store::queries::{self, ConfigScope};
use crate::store::Changed;

pub(super) fn global() -> ConfigScope {
    ConfigScope::Global
}

pub(super) fn subject_scope(subject: &str) -> ConfigScope {
    ConfigScope::Subject(subject.to_string())
}

/// The scope a config or mode path names: the top level, a subject, a context (`:.ctx:`;
/// the default context's is the top level), or `:.__GLOBAL:`, which applies in every
/// context.
fn scope_of(subject: Option<&str>) -> Result<ConfigScope, RegistryError> {
    let Some(raw) = subject else {
        return Ok(global());
    };
    if QualifiedSubject::is_qualified(raw) {
        let qualified = QualifiedSubject::parse(raw).map_err(|_| RegistryError::InvalidSubject(raw.to_string()))?;
        if qualified.name.is_empty() {
            return Ok(match qualified.context.scope_key() {
                Some(key) => subject_scope(&key),
                None => global(),
            });
        }
    }
    Ok(subject_scope(&subject_name(raw)?))
}

/// The scopes whose configs and modes apply to a subject, most specific first: its own,
/// then its context's outside the default context (the top level's inside it), then
/// `:.__GLOBAL:`. As in Confluent, the top level does not reach other contexts.
pub(super) fn scopes_of_subject(subject: &str) -> [ConfigScope; 3] {
    let context = context::context_of(subject);
    let middle = match context.scope_key() {
        Some(key) => subject_scope(&key),
        None => global(),
    };
    let every_context = format!(":{}:", context::GLOBAL_CONTEXT);
    [subject_scope(subject), middle, subject_scope(&every_context)]
}

pub(super) async fn stored_config(
    conn: &mut AnyConnection,
    scope: &ConfigScope,
) -> Result<Option<Config>, RegistryError> {
    match queries::config(conn, scope).await? {
        None => Ok(None),
        Some(body) => serde_json::from_str(&body)
            .map(Some)
            .map_err(|e| super::corrupt(format!("stored config {body:?}: {e}"))),
    }
}

pub(super) async fn stored_mode(conn: &mut AnyConnection, scope: &ConfigScope) -> Result<Option<Mode>, RegistryError> {
    match queries::mode(conn, scope).await? {
        None => Ok(None),
        Some(text) => text
            .parse()
            .map(Some)
            .map_err(|_| super::corrupt(format!("stored mode {text:?}"))),
    }
}

/// Subjects' effective compatibility levels: their own where set, else the global one.
#[derive(Debug, Clone)]
pub struct CompatibilityLevels {
    pub global: CompatibilityLevel,
    pub subjects: std::collections::HashMap<String, CompatibilityLevel>,
}

impl CompatibilityLevels {
    pub fn of(&self, subject: &str) -> CompatibilityLevel {
        self.subjects.get(subject).copied().unwrap_or(self.global)
    }
}

impl Core {
    /// The global config, with the server's default level when none was set.
    async fn global_config(&self, conn: &mut AnyConnection) -> Result<Config, RegistryError> {
        let mut config = stored_config(conn, &global()).await?.unwrap_or_default();
        config
            .compatibility_level
            .get_or_insert(self.settings.default_compatibility);
        Ok(config)
    }

    /// The effective compatibility level of every subject at once, for pages that list many
    /// subjects: one query instead of two per subject.
    pub async fn compatibility_levels(&self) -> Result<CompatibilityLevels, RegistryError> {
        let mut reader = self.store.read().await?;
        let global = self.global_config(reader.conn()).await?;
        let mut levels = CompatibilityLevels {
            global: global
                .compatibility_level
                .unwrap_or(self.settings.default_compatibility),
            subjects: std::collections::HashMap::new(),
        };
        for (scope, body) in queries::all_configs(reader.conn()).await? {
            if scope == "__GLOBAL" {
                continue;
            }
            let config: Config =
                serde_json::from_str(&body).map_err(|e| super::corrupt(format!("stored config {body:?}: {e}")))?;
            if let Some(level) = config.compatibility_level {
                levels.subjects.insert(scope, level);
            }
        }
        Ok(levels)
    }

    /// `GET /config[/{subject}]`: a subject's own config (`NoSubjectConfig` if it has none),
    /// or with `default_to_global` its effective one.
    pub async fn config(&self, subject: Option<&str>, default_to_global: bool) -> Result<Config, RegistryError> {
        let scope = scope_of(subject)?;
        let mut reader = self.store.read().await?;
        let global = self.global_config(reader.conn()).await?;
        let ConfigScope::Subject(name) = scope else {
            return Ok(global);
        };
        if default_to_global {
            let mut effective = Config::default();
            for scope in scopes_of_subject(&name) {
                if let Some(config) = stored_config(reader.conn(), &scope).await? {
                    effective = effective.over(&config);
                }
            }
            effective
                .compatibility_level
                .get_or_insert(self.settings.default_compatibility);
            return Ok(effective);
        }
        match stored_config(reader.conn(), &subject_scope(&name)).await? {
            Some(own) => Ok(own),
            None => Err(RegistryError::NoSubjectConfig(name)),
        }
    }

    /// `PUT /config[/{subject}]`: sets the fields given, keeps the others.
    pub async fn set_config(&self, subject: Option<&str>, update: Config) -> Result<Config, RegistryError> {
        let scope = scope_of(subject)?;
        // Confluent checks the configured rule sets as it checks a registration's (42210).
        for rule_set in [&update.default_rule_set, &update.override_rule_set]
            .into_iter()
            .flatten()
        {
            super::rules::validate_rule_set(rule_set)?;
        }
        let mut writer = self.write().await?;
        let current = stored_config(writer.conn(), &scope).await?.unwrap_or_default();
        let merged = update.over(&current);
        let body = serde_json::to_string(&merged).map_err(|e| super::corrupt(e.to_string()))?;
        queries::put_config(writer.conn(), &scope, &body).await?;
        let generation = writer.commit(Changed::Everything).await?;
        self.cache.invalidate(generation);
        Ok(update)
    }

    /// `DELETE /config[/{subject}]`: removes the config and answers what it was.
    pub async fn delete_config(&self, subject: Option<&str>) -> Result<Config, RegistryError> {
        let scope = scope_of(subject)?;
        let mut writer = self.write().await?;
        let previous = match (&scope, stored_config(writer.conn(), &scope).await?) {
            (_, Some(config)) => config,
            (ConfigScope::Global, None) => self.global_config(writer.conn()).await?,
            (ConfigScope::Subject(name), None) => return Err(RegistryError::SubjectNotFound(name.clone())),
        };
        queries::delete_config(writer.conn(), &scope).await?;
        let generation = writer.commit(Changed::Everything).await?;
        self.cache.invalidate(generation);
        Ok(previous)
    }

    /// The mode a subject is in: READONLY_OVERRIDE set at the top level wins, then the
    /// first mode set along [`scopes_of_subject`], then READWRITE.
    pub(super) async fn effective_mode(&self, conn: &mut AnyConnection, subject: &str) -> Result<Mode, RegistryError> {
        if let Some(mode) = self.cache.mode(subject) {
            return Ok(mode);
        }
        let ticket = self.cache.ticket();
        let mode = self.mode_along_scopes(conn, subject).await?;
        self.cache.store_mode(ticket, subject, mode);
        Ok(mode)
    }

    async fn mode_along_scopes(&self, conn: &mut AnyConnection, subject: &str) -> Result<Mode, RegistryError> {
        if stored_mode(conn, &global()).await? == Some(Mode::ReadOnlyOverride) {
            return Ok(Mode::ReadOnlyOverride);
        }
        for scope in scopes_of_subject(subject) {
            if let Some(mode) = stored_mode(conn, &scope).await? {
                return Ok(mode);
            }
        }
        Ok(Mode::ReadWrite)
    }

    /// `GET /mode[/{subject}]`.
    pub async fn mode(&self, subject: Option<&str>, default_to_global: bool) -> Result<Mode, RegistryError> {
        let scope = scope_of(subject)?;
        let mut reader = self.store.read().await?;
        let global_mode = stored_mode(reader.conn(), &global()).await?.unwrap_or(Mode::ReadWrite);
        match scope {
            ConfigScope::Global => Ok(global_mode),
            ConfigScope::Subject(name) => match stored_mode(reader.conn(), &subject_scope(&name)).await? {
                Some(own) => Ok(own),
                None if default_to_global => self.mode_along_scopes(reader.conn(), &name).await,
                None => Err(RegistryError::NoSubjectMode(name)),
            },
        }
    }

    /// `PUT /mode[/{subject}]`. Entering IMPORT needs the scope to hold no live subjects
    /// (imported ids must not collide), unless `force`: the top level and `:.__GLOBAL:` look
    /// at every context, a context (`:.ctx:`) at its own subjects.
    pub async fn set_mode(&self, subject: Option<&str>, mode: Mode, force: bool) -> Result<Mode, RegistryError> {
        let scope = scope_of(subject)?;
        let mut writer = self.write().await?;
        if mode == Mode::Import && !force {
            let any_live = |subjects: Vec<(String, bool, bool)>, of_context: Option<&Context>| {
                subjects
                    .iter()
                    .any(|(name, live, _)| *live && of_context.is_none_or(|c| context::context_of(name) == *c))
            };
            let live = match &scope {
                ConfigScope::Global => any_live(queries::subjects(writer.conn()).await?, None),
                ConfigScope::Subject(name) => match QualifiedSubject::parse(name) {
                    Ok(q) if q.context.is_global() && q.name.is_empty() => {
                        any_live(queries::subjects(writer.conn()).await?, None)
                    }
                    Ok(q) if q.is_context_only() => any_live(queries::subjects(writer.conn()).await?, Some(&q.context)),
                    _ => queries::subject_versions(writer.conn(), name)
                        .await?
                        .iter()
                        .any(|v| !v.deleted),
                },
            };
            if live {
                return Err(RegistryError::NotPermitted(
                    "Cannot import since found existing subjects".to_string(),
                ));
            }
        }
        queries::put_mode(writer.conn(), &scope, mode.as_str()).await?;
        let generation = writer.commit(Changed::Everything).await?;
        self.cache.invalidate(generation);
        Ok(mode)
    }

    /// `DELETE /mode[/{subject}]`: removes the mode and answers what it was.
    pub async fn delete_mode(&self, subject: Option<&str>) -> Result<Mode, RegistryError> {
        let scope = scope_of(subject)?;
        let mut writer = self.write().await?;
        let previous = match (&scope, stored_mode(writer.conn(), &scope).await?) {
            (_, Some(mode)) => mode,
            (ConfigScope::Global, None) => Mode::ReadWrite,
            (ConfigScope::Subject(name), None) => return Err(RegistryError::SubjectNotFound(name.clone())),
        };
        queries::delete_mode(writer.conn(), &scope).await?;
        let generation = writer.commit(Changed::Everything).await?;
        self.cache.invalidate(generation);
        Ok(previous)
    }
}
