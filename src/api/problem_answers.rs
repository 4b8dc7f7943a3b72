//! hyper answers some requests itself, before any route sees them: a request line too long
//! (414), headers too large or too many (431), or a request it cannot parse (400, e.g. a DEL
//! character in a header). It writes a bare head with no body and closes. This writer, around
//! each connection's socket, replaces such a head with the same status as a problem document,
//! so every answer of the server has the one error shape. Answers of the routes always carry
//! `x-request-id` (see `request_id`), which tells them apart from hyper's own.
use std::{
    io,
    pin::Pin,
    task::{Context, Poll, ready},
};

use poem::http::StatusCode;
use poem_openapi::types::ToJSON;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::problem::ApiError;

pub struct ProblemAnswers<T> {
    inner: T,
    /// A replacement being written: its bytes, how many are written, and how many bytes of
    /// hyper's head it stands for (reported as written once it is all out).
    pending: Option<(Vec<u8>, usize, usize)>,
}

impl<T> ProblemAnswers<T> {
    pub fn new(inner: T) -> Self {
        Self {
            inner,
            pending: None,
        }
    }
}

/// The problem answer standing for `head`, if `head` is one of hyper's own error answers.
fn replacement(head: &[u8]) -> Option<Vec<u8>> {
    // Most writes are answers of the routes (or their bodies): tell by the first bytes.
    if !(head.starts_with(b"HTTP/1.1 ") || head.starts_with(b"HTTP/1.0 ")) {
        return None;
    }
    let (status, code, detail) = match head.get(9..13)? {
        b"400 " => (
            StatusCode::BAD_REQUEST,
            "malformed_request",
            "the request is not valid HTTP/1.1 (a malformed request line or header, such as a control character in a header value)",
        ),
        b"414 " => (
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            "the request line is too long",
        ),
        b"431 " => (
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "header_fields_too_large",
            "the request's headers are too large or too many",
        ),
        _ => return None,
    };
    let text = std::str::from_utf8(head).ok()?;
    let lower = text.to_ascii_lowercase();
    let bare = lower.ends_with("\r\n\r\n")
        && lower.contains("\r\ncontent-length: 0\r\n")
        && !lower.contains("\r\nx-request-id:");
    if !bare {
        return None;
    }
    let body = ApiError::new(status, code, detail)
        .problem
        .to_json()?
        .to_string();
    let date = text
        .split("\r\n")
        .find(|line| line.to_ascii_lowercase().starts_with("date:"))
        .map(|line| format!("{line}\r\n"))
        .unwrap_or_default();
    Some(
        format!(
            "HTTP/1.1 {} {}\r\ncontent-type: {}\r\ncontent-length: {}\r\nconnection: close\r\n{date}\r\n{body}",
            status.as_u16(),
            status.canonical_reason().unwrap_or_default(),
            super::problem::CONTENT_TYPE,
            body.len(),
        )
        .into_bytes(),
    )
}

impl<T: AsyncWrite + Unpin> ProblemAnswers<T> {
    /// Write what is pending; ready with the length of hyper's head once all of it is out.
    fn drive(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let Some((bytes, written, stands_for)) = &mut self.pending else {
            return Poll::Ready(Ok(0));
        };
        while *written < bytes.len() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &bytes[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        let n = *stands_for;
        self.pending = None;
        Poll::Ready(Ok(n))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for ProblemAnswers<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for ProblemAnswers<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.pending.is_none() {
            match replacement(buf) {
                Some(bytes) => self.pending = Some((bytes, 0, buf.len())),
                None => return Pin::new(&mut self.inner).poll_write(cx, buf),
            }
        }
        self.drive(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        // hyper's own answers are a head alone, in one buffer.
        let first = bufs.iter().find(|b| !b.is_empty());
        if self.pending.is_some() || first.is_some_and(|b| replacement(b).is_some()) {
            let first = first.map_or(&[][..], |b| &b[..]);
            return self.poll_write(cx, first);
        }
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drive(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drive(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::replacement;

    #[test]
    fn hypers_own_answers_become_problems() {
        let head = "HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\ncontent-length: 0\r\ndate: Mon, 07 Dec 2026 12:04:49 GMT\r\n\r\n";
        let answer = String::from_utf8(replacement(head.as_bytes()).unwrap()).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
        assert!(head.contains("content-type: application/problem+json"));
        assert!(head.contains("date: Mon, 07 Dec 2026 12:04:49 GMT"));
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let problem: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(problem["code"], "header_fields_too_large");
        assert_eq!(problem["status"], 431);
    }

    #[test]
    fn answers_of_the_routes_are_left_alone() {
        for head in [
            // Every answer of the routes carries a request id.
            "HTTP/1.1 400 Bad Request\r\nx-request-id: 1\r\ncontent-length: 0\r\n\r\n",
            "HTTP/1.1 400 Bad Request\r\ncontent-length: 12\r\n\r\n",
            "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n",
            "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
        ] {
            assert!(replacement(head.as_bytes()).is_none(), "{head}");
        }
    }
}
