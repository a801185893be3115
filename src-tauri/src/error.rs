//! The one error type that crosses IPC: `{ code, message, issues? }`. The UI
//! switches on `code`, one of the closed list [`ErrorCode`]; `message` is for
//! people; `issues` locate validation problems at editor fields. Messages
//! come from the core, which never puts a secret in one.

use gatehouse_core::ErrorCode;
use gatehouse_core::api::FieldIssue;
use serde::Serialize;
use ts_rs::TS;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct IpcError {
    pub code: ErrorCode,
    pub message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[ts(optional, as = "Option<Vec<FieldIssue>>")]
    pub issues: Vec<FieldIssue>,
}

impl IpcError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            issues: Vec::new(),
        }
    }
}

impl From<gatehouse_core::Error> for IpcError {
    fn from(error: gatehouse_core::Error) -> Self {
        let issues = match &error {
            gatehouse_core::Error::Config(config) => config
                .issues()
                .iter()
                .cloned()
                .map(FieldIssue::from)
                .collect(),
            _ => Vec::new(),
        };
        Self {
            code: error.code(),
            message: error.to_string(),
            issues,
        }
    }
}

impl From<gatehouse_core::clients::ClientError> for IpcError {
    fn from(error: gatehouse_core::clients::ClientError) -> Self {
        match error {
            gatehouse_core::clients::ClientError::Engine(error) => error.into(),
            other => Self::new(other.code(), other.to_string()),
        }
    }
}

impl From<tauri::Error> for IpcError {
    fn from(error: tauri::Error) -> Self {
        Self::new(ErrorCode::Internal, error.to_string())
    }
}

pub type Result<T> = std::result::Result<T, IpcError>;

#[cfg(test)]
mod tests {
    use super::*;
    use gatehouse_core::config::{ConfigError, ConfigIssue};

    #[test]
    fn serializes_as_code_and_message() {
        let error = IpcError::new(ErrorCode::UnknownServer, "no server has the id \"x\"");
        assert_eq!(
            serde_json::to_value(&error).unwrap(),
            serde_json::json!({"code": "unknown_server", "message": "no server has the id \"x\""})
        );
    }

    #[test]
    fn client_errors_carry_their_code() {
        use gatehouse_core::clients::{ClientError, ClientKind};
        let error: IpcError = ClientError::NotConnected {
            client: ClientKind::Cursor,
            path: "/home/me/.cursor/mcp.json".into(),
        }
        .into();
        assert_eq!(
            serde_json::to_value(&error).unwrap(),
            serde_json::json!({
                "code": "client_not_connected",
                "message": "cursor is not connected to Gatehouse through /home/me/.cursor/mcp.json (no backup record)"
            })
        );
    }

    #[test]
    fn validation_errors_carry_their_fields() {
        let error: IpcError = gatehouse_core::Error::Config(ConfigError::Invalid {
            path: "c.toml".into(),
            issues: vec![ConfigIssue {
                server: "a".into(),
                index: None,
                field: "url".into(),
                message: "must use https".into(),
            }],
            locations: vec![None],
        })
        .into();
        assert_eq!(
            serde_json::to_value(&error).unwrap(),
            serde_json::json!({
                "code": "invalid_config",
                "message": "c.toml: server \"a\": url: must use https",
                "issues": [{"field": "url", "message": "must use https"}]
            })
        );
    }
}
