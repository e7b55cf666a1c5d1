//! A list of brokers' URLs, as Pulsar clients take them: `pulsar://host-1:6650,host-2:6650`, one
//! scheme and path for several `host:port` pairs. Any broker of a cluster answers lookups, so a
//! client that cannot reach one goes on through the next.

use std::fmt;

use url::Url;

/// One or more URLs of the same scheme, in the order given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Endpoints {
    first: Url,
    rest: Vec<Url>,
}

impl Endpoints {
    /// Parses `text`, a URL whose host part may list several `host[:port]` separated by commas.
    /// A host without a port gets `default_port(scheme)`; `None` rejects the scheme, with the
    /// reason.
    pub(crate) fn parse(
        text: &str,
        default_port: impl Fn(&str) -> Result<u16, String>,
    ) -> Result<Self, String> {
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| "no scheme (`scheme://host:port`)".to_owned())?;
        let port = default_port(scheme)?;
        let (hosts, path) = rest.find('/').map_or((rest, ""), |at| rest.split_at(at));
        let mut urls = hosts.split(',').map(|host| {
            if host.trim().is_empty() {
                return Err(format!("an empty host in `{hosts}`"));
            }
            let url = Url::parse(&format!("{scheme}://{}{path}", host.trim()))
                .map_err(|error| format!("`{host}`: {error}"))?;
            if url.host_str().is_none_or(str::is_empty) {
                return Err("no host".to_owned());
            }
            Ok(with_port(url, port))
        });
        let first = urls.next().unwrap_or_else(|| Err("no host".to_owned()))?;
        let rest = urls.collect::<Result<_, _>>()?;
        Ok(Self { first, rest })
    }

    /// The same hosts under another scheme, port and path: the admin URLs of the brokers a list
    /// of service URLs names.
    pub(crate) fn rebased(&self, scheme: &str, port: u16) -> Result<Self, String> {
        let rebase = |url: &Url| {
            let host = url.host_str().unwrap_or_default();
            Url::parse(&format!("{scheme}://{host}:{port}/")).map_err(|error| error.to_string())
        };
        Ok(Self {
            first: rebase(&self.first)?,
            rest: self.rest.iter().map(rebase).collect::<Result<_, _>>()?,
        })
    }

    /// The first URL given.
    pub(crate) fn first(&self) -> &Url {
        &self.first
    }

    /// The `index`-th URL, counting round: the next broker to try after the last.
    pub(crate) fn nth_round(&self, index: usize) -> &Url {
        match index % self.len() {
            0 => &self.first,
            at => self.rest.get(at - 1).unwrap_or(&self.first),
        }
    }

    /// How many URLs there are.
    pub(crate) fn len(&self) -> usize {
        1 + self.rest.len()
    }

    /// Every URL, in the order given.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Url> {
        std::iter::once(&self.first).chain(&self.rest)
    }
}

impl fmt::Display for Endpoints {
    /// As given: one URL, or the first followed by the other hosts.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let first = self.first.as_str().trim_end_matches('/');
        if self.rest.is_empty() {
            return f.write_str(first);
        }
        f.write_str(first)?;
        for url in &self.rest {
            let host = url.host_str().unwrap_or_default();
            match url.port() {
                Some(port) => write!(f, ",{host}:{port}")?,
                None => write!(f, ",{host}")?,
            }
        }
        Ok(())
    }
}

fn with_port(mut url: Url, port: u16) -> Url {
    if url.port().is_none() {
        // Only URLs that cannot have a port refuse one, and those have no host.
        let _ = url.set_port(Some(port));
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pulsar_port(scheme: &str) -> Result<u16, String> {
        match scheme {
            "pulsar" => Ok(6650),
            other => Err(format!("unsupported scheme `{other}`")),
        }
    }

    fn hosts(endpoints: &Endpoints) -> Vec<String> {
        endpoints.iter().map(Url::to_string).collect()
    }

    #[test]
    fn one_url_or_several_hosts_under_one_scheme() {
        let one = Endpoints::parse("pulsar://broker:6650", pulsar_port).unwrap();
        assert_eq!(hosts(&one), ["pulsar://broker:6650"]);
        let three = Endpoints::parse("pulsar://a:6650,b,c:7000", pulsar_port).unwrap();
        assert_eq!(
            hosts(&three),
            ["pulsar://a:6650", "pulsar://b:6650", "pulsar://c:7000"]
        );
        assert_eq!(three.to_string(), "pulsar://a:6650,b:6650,c:7000");
        assert_eq!(three.nth_round(1).as_str(), "pulsar://b:6650");
        assert_eq!(three.nth_round(3), three.first());
    }

    #[test]
    fn a_path_applies_to_every_host() {
        let admin = Endpoints::parse("http://a:8080,b:8080/pulsar/", |_| Ok(80)).unwrap();
        assert_eq!(
            hosts(&admin),
            ["http://a:8080/pulsar/", "http://b:8080/pulsar/"]
        );
    }

    #[test]
    fn the_admin_urls_of_the_service_hosts() {
        let service = Endpoints::parse("pulsar://a:6650,b:6650", pulsar_port).unwrap();
        let admin = service.rebased("http", 8080).unwrap();
        assert_eq!(hosts(&admin), ["http://a:8080/", "http://b:8080/"]);
    }

    #[test]
    fn empty_hosts_and_wrong_schemes_are_named() {
        let error = |text| Endpoints::parse(text, pulsar_port).unwrap_err();
        assert!(error("pulsar://a:6650,,b").contains("empty host"));
        assert!(error("pulsar://").contains("empty host"));
        assert!(error("http://a").contains("unsupported scheme `http`"));
        assert!(error("a:6650").contains("no scheme"));
        assert!(error("pulsar://a:66x50").contains("`a:66x50`"));
    }
}
