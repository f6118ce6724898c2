//! The emails' text and HTML parts, rendered with minijinja from the files in
//! `crates/app/templates/mail/` (embedded at compile time). The features choose the template
//! and pass its values; values derived from configuration (links from `APP_URL`, lifetimes) are
//! computed in Rust, never retyped in a template.
//!
//! minijinja escapes by the template's name: `*.html` is HTML-escaped, `*.txt` parts and
//! subjects are not (text/plain is never read as markup). Undefined variables are errors
//! (`UndefinedBehavior::Strict`), so a renamed variable fails a unit test, not a user's inbox.

mod escape;
mod format;
#[cfg(test)]
mod tests;

use minijinja::{Environment, UndefinedBehavior, Value, context};
use url::Url;

pub use self::format::{human_duration, mask_email};
use super::{Mailbox, Message, SetupError, message::InvalidMessage};

macro_rules! embedded {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../../../templates/mail/", $name)))),*]
    };
}

/// Every template, by file name. An email `x` is `x.subject.txt`, `x.txt` and `x.html`.
const TEMPLATES: &[(&str, &str)] = embedded![
    "layout.html",
    "verify_email.subject.txt",
    "verify_email.txt",
    "verify_email.html",
    "password_reset.subject.txt",
    "password_reset.txt",
    "password_reset.html",
    "email_changed.subject.txt",
    "email_changed.txt",
    "email_changed.html",
];

/// A template failed to render: a bug in a template or in the values passed to it.
#[derive(Debug, thiserror::Error)]
#[error("email template error: {0}")]
pub struct TemplateError(#[from] minijinja::Error);

/// Subject and both bodies of one email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl Rendered {
    pub fn into_message(self, from: Mailbox, to: Mailbox) -> Result<Message, InvalidMessage> {
        Message::new(from, to, self.subject, self.text, self.html)
    }
}

/// `APP_URL` as links are built from it: an http(s) URL without query or fragment (a path
/// prefix is kept).
pub fn parse_app_url(raw: &str) -> Result<Url, SetupError> {
    let url = Url::parse(raw).map_err(|e| SetupError::new(e.to_string()))?;
    if !matches!(url.scheme(), "https" | "http")
        || url.cannot_be_a_base()
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return Err(SetupError::new(
            "must be an http(s) URL without query or fragment, like https://app.example.com",
        ));
    }
    Ok(url)
}

pub struct Templates {
    env: Environment<'static>,
    app_url: Url,
    product_name: String,
}

impl Templates {
    /// Parses every template once: an error here is a bug in a template file.
    pub fn new(app_url: &str, product_name: &str) -> Result<Self, SetupError> {
        let app_url = parse_app_url(app_url)?;
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_formatter(escape::formatter);
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .map_err(|e| SetupError::new(format!("email template {name}: {e}")))?;
        }
        Ok(Self {
            env,
            app_url,
            product_name: product_name.to_owned(),
        })
    }

    /// `{APP_URL}/{page}?token=...`, built with `url` so that the token is percent-encoded in
    /// the query and a path prefix in `APP_URL` (`https://example.com/app`) survives.
    pub fn link(&self, page: &str, token: &str) -> String {
        let mut url = self.app_url.clone();
        // Never fails: `parse_app_url` refused URLs that cannot be a base.
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().push(page);
        }
        url.query_pairs_mut().append_pair("token", token);
        url.into()
    }

    /// Renders the email `name` with `values` (which every template also gets
    /// `product_name` beside).
    pub fn render(&self, name: &str, values: Value) -> Result<Rendered, TemplateError> {
        let ctx = context! { product_name => &self.product_name, ..values };
        let get = |suffix: &str| self.env.get_template(&format!("{name}.{suffix}"));
        Ok(Rendered {
            // Subjects are one line: drop the file's trailing newline and stray spaces.
            subject: get("subject.txt")?.render(&ctx)?.trim().to_owned(),
            text: get("txt")?.render(&ctx)?,
            html: get("html")?.render(&ctx)?,
        })
    }
}
