//! The HAL envelope of the native API (Coviu-shaped): `{content, _links}`, hrefs are paths
//! (clients prepend their base URL), lists page with 0-based `page`/`count` and carry `next`
//! only when another page exists and `previous` only after the first page.
use std::collections::BTreeMap;

use poem_openapi::{
    Object,
    types::{ParseFromJSON, ToJSON},
};

use crate::store::Window;

pub const DEFAULT_COUNT: u64 = 50;
pub const MAX_COUNT: u64 = 500;

#[derive(Debug, Clone, Object, PartialEq, Eq)]
pub struct Link {
    /// A path on this server, e.g. `/v1/orgs/{orgId}`.
    pub href: String,
}

pub type Links = BTreeMap<String, Link>;

/// One resource with its links.
#[derive(Debug, Clone, Object)]
pub struct Hal<T: ParseFromJSON + ToJSON> {
    pub content: T,
    #[oai(rename = "_links")]
    pub links: Links,
}

/// One page of a collection with `self`, `next` and `previous` links.
#[derive(Debug, Clone, Object)]
pub struct HalPage<T: ParseFromJSON + ToJSON> {
    pub content: Vec<T>,
    #[oai(rename = "_links")]
    pub links: Links,
}

pub fn link(href: impl Into<String>) -> Link {
    Link { href: href.into() }
}

pub fn links<const N: usize>(pairs: [(&str, String); N]) -> Links {
    pairs
        .into_iter()
        .map(|(rel, href)| (rel.to_string(), link(href)))
        .collect()
}

impl<T: ParseFromJSON + ToJSON> Hal<T> {
    pub fn new(content: T, links: Links) -> Self {
        Self { content, links }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    pub page: u64,
    pub count: u64,
}

impl Paging {
    pub fn new(page: Option<u64>, count: Option<u64>) -> Self {
        Self {
            page: page.unwrap_or(0),
            count: count.unwrap_or(DEFAULT_COUNT).clamp(1, MAX_COUNT),
        }
    }

    pub fn window(&self) -> Window {
        Window::page(self.page, self.count)
    }

    /// `self`/`next`/`previous` for `path`, keeping the list's filters in every link.
    pub fn links(&self, path: &str, filters: &[(&str, Option<String>)], more: bool) -> Links {
        let href = |page: u64| {
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            for (name, value) in filters {
                if let Some(value) = value {
                    query.append_pair(name, value);
                }
            }
            query.append_pair("page", &page.to_string());
            query.append_pair("count", &self.count.to_string());
            format!("{path}?{}", query.finish())
        };
        let mut links = Links::new();
        links.insert("self".into(), link(href(self.page)));
        if more {
            links.insert("next".into(), link(href(self.page.saturating_add(1))));
        }
        if self.page > 0 {
            links.insert("previous".into(), link(href(self.page - 1)));
        }
        links
    }
}

impl<T: ParseFromJSON + ToJSON> HalPage<T> {
    pub fn new(
        content: Vec<T>,
        paging: Paging,
        path: &str,
        filters: &[(&str, Option<String>)],
        more: bool,
    ) -> Self {
        Self {
            content,
            links: paging.links(path, filters, more),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_middle_and_last_pages() {
        let first = Paging::new(None, Some(2)).links("/v1/x", &[], true);
        assert_eq!(first["self"].href, "/v1/x?page=0&count=2");
        assert_eq!(first["next"].href, "/v1/x?page=1&count=2");
        assert!(!first.contains_key("previous"));
        let last =
            Paging::new(Some(3), Some(2)).links("/v1/x", &[("domain", Some("a b".into()))], false);
        assert_eq!(last["previous"].href, "/v1/x?domain=a+b&page=2&count=2");
        assert!(!last.contains_key("next"));
        assert_eq!(Paging::new(Some(3), Some(2)).window().offset, 6);
        let far = Paging::new(Some(u64::MAX / 3), Some(500)).window();
        assert_eq!(far.offset, i64::MAX as u64);
    }
}
