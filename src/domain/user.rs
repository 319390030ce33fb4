//! Users as the directory (the main backend) knows them.

use serde::{Deserialize, Serialize};

use super::UserId;

/// A user's kind in the directory and in tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum UserType {
    Customer,
    Agent,
    Admin,
    System,
}

impl UserType {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "customer" => Some(Self::Customer),
            "agent" => Some(Self::Agent),
            "admin" => Some(Self::Admin),
            "system" => Some(Self::System),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Customer => "customer",
            Self::Agent => "agent",
            Self::Admin => "admin",
            Self::System => "system",
        }
    }
}

/// A user as the directory knows them.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: UserId,
    pub name: String,
    pub user_type: UserType,
    pub display_image: Option<String>,
    pub blocked: bool,
}

/// Who may write a user's profile. The main backend's word (the directory) always wins over
/// a token's optional claims, which only fill a profile the directory does not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileSource {
    Directory,
    TokenClaims,
}
