//! Credentials: sealing secrets, password hashing, random tokens, access tokens and the
//! request signatures of the compatibility surfaces.
pub mod access_token;
pub mod chat_checksum;
pub mod password;
pub mod python_json;
pub mod random;
pub mod seal;
pub mod session_link;
pub mod turn_credential;
pub mod webhook_signature;
pub mod widget_token;
pub mod xroom_hmac;
