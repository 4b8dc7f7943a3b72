//! Credentials: sealing secrets, password hashing, random tokens, access tokens and the
//! request signatures of the compatibility surfaces.
pub mod access_token;
pub mod password;
pub mod random;
pub mod seal;
pub mod xroom_hmac;
