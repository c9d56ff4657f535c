//! Retries and timeouts of the HTTP stores: bounded, so a dead or overloaded endpoint
//! turns into a clear error within a known time instead of a hung Jupyter request.

use std::time::Duration;

use object_store::{BackoffConfig, RetryConfig};

use crate::error::{Error, Result};

#[derive(Clone, Debug, PartialEq)]
pub struct Tuning {
    /// Retries of a failed request (5xx, 429, SlowDown, connection errors); 0 disables.
    pub max_retries: usize,
    /// No retry starts once this much time has passed since the first attempt.
    pub retry_timeout: Duration,
    /// Time allowed to open a connection.
    pub connect_timeout: Duration,
    /// Time allowed for one whole request, response body included.
    pub request_timeout: Duration,
}

impl Default for Tuning {
    fn default() -> Self {
        Self {
            max_retries: 3,
            retry_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(60),
        }
    }
}

impl Tuning {
    /// Validated settings from seconds, naming the setting that is wrong.
    pub fn from_seconds(
        max_retries: usize,
        retry_timeout: f64,
        connect_timeout: f64,
        request_timeout: f64,
    ) -> Result<Self> {
        let seconds = |name: &str, value: f64| {
            if value.is_finite() && value > 0.0 {
                Ok(Duration::from_secs_f64(value))
            } else {
                Err(Error::Config(format!("{name} must be a positive number of seconds, not {value}")))
            }
        };
        Ok(Self {
            max_retries,
            retry_timeout: seconds("retry_timeout", retry_timeout)?,
            connect_timeout: seconds("connect_timeout", connect_timeout)?,
            request_timeout: seconds("request_timeout", request_timeout)?,
        })
    }

    pub fn retry(&self) -> RetryConfig {
        RetryConfig {
            backoff: BackoffConfig {
                init_backoff: Duration::from_millis(100),
                max_backoff: Duration::from_secs(5),
                base: 2.0,
            },
            max_retries: self.max_retries,
            retry_timeout: self.retry_timeout,
        }
    }

    /// The timeouts as store options (applied before the user's, which override them).
    pub fn client_config(&self) -> [(String, String); 2] {
        [
            ("timeout".into(), format!("{}ms", self.request_timeout.as_millis())),
            ("connect_timeout".into(), format!("{}ms", self.connect_timeout.as_millis())),
        ]
    }
}
