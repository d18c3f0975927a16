//! The era bridge: every result mcpmux sends is a valid result of the
//! *client's* protocol era, whatever era the backend that produced it spoke.
//! A 2026-07-28 client requires `resultType` on every result (strict SDKs
//! reject a result without it) and caching hints on list results; a
//! 2025-era backend sends neither. rmcp strips most 2026-only fields for
//! older clients on its own; this module adds what a modern client needs and
//! drops the caching hints of a resource read from an older client's answer.

use std::time::Instant;

use rmcp::RoleServer;
use rmcp::model::{
    CallToolResponse, CompleteResult, GetPromptResponse, ProtocolVersion, ReadResourceResponse, ResultType,
};
use rmcp::service::RequestContext;

/// The protocol era of the client that sent a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Era {
    /// 2025-11-25 and older: `initialize`, sessions.
    Handshake,
    /// 2026-07-28 and later: stateless, `resultType` on every result.
    Stateless,
}

impl Era {
    pub fn of(ctx: &RequestContext<RoleServer>) -> Era {
        Era::of_version(ctx.protocol_version().as_ref())
    }

    pub fn of_version(version: Option<&ProtocolVersion>) -> Era {
        // ISO dates compare lexically as they do chronologically.
        match version {
            Some(v) if v.as_str() >= ProtocolVersion::V_2026_07_28.as_str() => Era::Stateless,
            _ => Era::Handshake,
        }
    }
}

/// A backend's tools/call answer, made valid for a client of `era`.
pub fn call_result(era: Era, mut response: CallToolResponse) -> CallToolResponse {
    if era == Era::Stateless
        && let CallToolResponse::Complete(r) = &mut response
    {
        r.result_type.get_or_insert(ResultType::COMPLETE);
    }
    response
}

/// A backend's prompts/get answer, made valid for a client of `era`.
pub fn prompt_result(era: Era, mut response: GetPromptResponse) -> GetPromptResponse {
    if era == Era::Stateless
        && let GetPromptResponse::Complete(r) = &mut response
    {
        r.result_type.get_or_insert(ResultType::COMPLETE);
    }
    response
}

/// A backend's resources/read answer, made valid for a client of `era`
/// (rmcp adds the caching hints a 2026-07-28 client needs when they are missing).
pub fn read_result(era: Era, mut response: ReadResourceResponse) -> ReadResourceResponse {
    if let ReadResourceResponse::Complete(r) = &mut response {
        match era {
            Era::Stateless => {
                r.result_type.get_or_insert(ResultType::COMPLETE);
            }
            // Freshness is a 2026-07-28 field; older clients never see it.
            Era::Handshake => {
                r.ttl_ms = None;
                r.cache_scope = None;
            }
        }
    }
    response
}

/// A backend's completion/complete answer, made valid for a client of `era`.
pub fn complete_result(era: Era, mut result: CompleteResult) -> CompleteResult {
    if era == Era::Stateless {
        result.result_type.get_or_insert(ResultType::COMPLETE);
    }
    result
}

/// The `ttlMs` of a list result: the freshness left in the snapshot it was
/// served from (`None` when no backend declared one; rmcp then sends 0).
pub fn ttl_ms(fresh_until: Option<Instant>, now: Instant) -> Option<u64> {
    fresh_until.map(|t| {
        let left = t.saturating_duration_since(now);
        u64::try_from(left.as_millis()).unwrap_or(u64::MAX)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmcp::model::{CallToolResult, ContentBlock};
    use std::time::Duration;

    #[test]
    fn stateless_clients_get_a_result_type() {
        let mut legacy = CallToolResult::success(vec![ContentBlock::text("x")]);
        legacy.result_type = None; // as deserialized from a 2025-era backend
        let CallToolResponse::Complete(r) = call_result(Era::Stateless, legacy.clone().into()) else {
            panic!("not complete")
        };
        assert_eq!(r.result_type, Some(ResultType::COMPLETE));
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["resultType"], "complete");
        let CallToolResponse::Complete(r) = call_result(Era::Handshake, legacy.into()) else {
            panic!("not complete")
        };
        assert_eq!(r.result_type, None);
    }

    #[test]
    fn eras_by_version() {
        assert_eq!(Era::of_version(Some(&ProtocolVersion::V_2026_07_28)), Era::Stateless);
        assert_eq!(Era::of_version(Some(&ProtocolVersion::V_2025_11_25)), Era::Handshake);
        assert_eq!(Era::of_version(None), Era::Handshake);
    }

    #[test]
    fn ttl_is_what_is_left() {
        let now = Instant::now();
        assert_eq!(ttl_ms(None, now), None);
        assert_eq!(ttl_ms(Some(now), now + Duration::from_secs(1)), Some(0));
        assert_eq!(ttl_ms(Some(now + Duration::from_millis(1500)), now), Some(1500));
    }
}
