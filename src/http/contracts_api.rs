//! Consumer-declared contracts over HTTP: thin handlers over [`crate::registry::readers`].
//!
//! - `PUT /herald/v1/consumers/{group}/contracts/{subject}`: declare (or replace) what the
//!   group reads of the subject: `{"fields": ["order.total", …]}` or `{"schema": "…"}`
//!   (a reader schema), against `"version"` (a number, or the latest);
//! - `GET` and `DELETE` of the same path: the contract, and its withdrawal;
//! - `GET /herald/v1/consumers/{group}/contracts`: the group's contracts;
//! - `GET /herald/v1/contracts?subject=…`: every contract (on one subject) the caller may see.
//!
//! Errors: 404/40401 unknown subject, 404/40402 unknown version, 404/40410 no such
//! contract, 422/42212 a contract that cannot be declared (the message names the field).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::access::Caller;
use super::api::reply;
use super::error::ApiError;
use super::params::Params;
use super::wire::{parse_registry_body, ContractBody, ContractView};
use super::AppState;
use crate::registry::readers::Contract;
use crate::security::{Operation, Resource};

type Reply = Result<Response, ApiError>;

fn views(contracts: &[Contract]) -> Vec<ContractView<'_>> {
    contracts.iter().map(ContractView::from).collect()
}

/// A contract constrains the subject's producers: declaring one needs read on the subject
/// besides the group's grant the route asks for.
pub async fn put(
    State(state): State<AppState>,
    caller: Caller,
    Path((group, subject)): Path<(String, String)>,
    body: Bytes,
) -> Reply {
    caller.check(Operation::Read, &Resource::subject(subject.as_str()))?;
    let request = parse_registry_body::<ContractBody>(&body)?.to_request()?;
    let contract = state.registry.put_contract(&group, &subject, &request).await?;
    reply(&ContractView::from(&contract))
}

pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path((group, subject)): Path<(String, String)>,
) -> Reply {
    caller.check(Operation::Read, &Resource::subject(subject.as_str()))?;
    let contract = state.registry.contract(&group, &subject).await?;
    reply(&ContractView::from(&contract))
}

pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path((group, subject)): Path<(String, String)>,
) -> Reply {
    caller.check(Operation::Read, &Resource::subject(subject.as_str()))?;
    state.registry.delete_contract(&group, &subject).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn of_group(State(state): State<AppState>, caller: Caller, Path(group): Path<String>) -> Reply {
    let contracts: Vec<Contract> = state
        .registry
        .contracts_of_group(&group)
        .await?
        .into_iter()
        .filter(|c| caller.may(Operation::Read, &Resource::subject(c.subject.as_str())))
        .collect();
    reply(&views(&contracts))
}

/// Every contract the caller may see: on subjects it may read, by groups it may describe.
pub async fn list(State(state): State<AppState>, caller: Caller, params: Params) -> Reply {
    let contracts = match params.text("subject") {
        Some(subject) => state.registry.contracts_of_subject(subject).await?,
        None => state.registry.all_contracts().await?,
    };
    let contracts: Vec<Contract> = contracts
        .into_iter()
        .filter(|c| {
            caller.may(Operation::Read, &Resource::subject(c.subject.as_str()))
                && caller.may(Operation::Describe, &Resource::group(c.group.as_str()))
        })
        .collect();
    reply(&views(&contracts))
}
