"""The INI configuration file: sections, keys, defaults and typed access.

Every key is documented in ``etc/rocket.conf``. Unknown sections and keys
are logged once (a typo must not pass silently) and otherwise ignored.

Precedence for values the ACS can also set (``ManagementServer.*``): a value
written by the ACS is stored in the state directory together with the file's
value at that moment. It wins over the file until the file's value for that
key changes (the operator edited the file: the file wins again).
"""

from rocket.base.ini import Ini, IniError
from rocket.base.log import log
from rocket.base.booleans import config_bool

DEFAULT_PATH = "/etc/rocket/rocket.conf"

DEFAULTS = {
    "acs": {
        "url": "",
        "dhcp_discovery": "no",
        "username": "",
        "password": "",
        "periodic_inform_enable": "true",
        "periodic_inform_interval": "86400",
        "periodic_inform_time": "",
        "retry_minimum_wait_interval": "5",
        "retry_interval_multiplier": "2000",
        "ca_file": "",
        "client_cert": "",
        "client_key": "",
        "insecure": "false",
        "allow_basic_over_http": "false",
        "session_timeout": "30",
        "get_rpc_methods": "false",
        "max_body": "4194304",
        "http_compression": "Disabled",
        "max_parameters": "250000",
    },
    "cpe": {
        "manufacturer": "Rocket",
        "oui": "000000",
        "product_class": "Rocket",
        "serial_number": "",
        "data_model": "Device",
        "cwmp_version": "1.4",
        "hardware_version": "",
        "software_version": "",
        "provisioning_code": "",
        "device_images": "",
    },
    "connection_request": {
        "enable": "true",
        "port": "7547",
        "path": "",
        "username": "",
        "password": "",
        "address": "",
        "interface": "",
        "allow_basic": "false",
        "allow_unauthenticated": "false",
        "max_per_minute": "30",
        "bind": "",
        "realm": "Rocket",
        "digest_algorithms": "MD5",
        "nonce_lifetime": "30",
        "request_timeout": "5",
        "max_connections": "16",
        "url_check_interval": "60",
    },
    "stun": {
        "enable": "false",
        "server_address": "",
        "server_port": "3478",
        "username": "",
        "password": "",
        "minimum_keepalive": "30",
        "maximum_keepalive": "-1",
    },
    "udp_connection_request": {
        "enable": "false",
        "address": "",
        "port": "7547",
        "max_clock_skew": "300",
    },
    "xmpp": {
        "enable": "false",
        "jid": "",
        "password": "",
        "server": "",
        "port": "5222",
        "ca_file": "",
        "allowed_jids": "",
        "keepalive_interval": "60",
        "connect_timeout": "30",
        "retry_initial_interval": "10",
        "retry_max_interval": "600",
    },
    "backends": {
        "dir": "/usr/lib/rocket/backends",
        "enabled": "",
        "timeout": "10",
        "max_output": "4194304",
        "static": "",
        "static_persist": "false",
    },
    "state": {
        "dir": "/var/lib/rocket",
    },
    "log": {
        "target": "stderr",
        "level": "info",
    },
    "notify": {
        "poll_interval": "300",
        "settle": "1",
    },
    "dns": {
        "resolv_conf": "/etc/resolv.conf",
        "hosts": "/etc/hosts",
    },
    "control": {
        "enable": "true",
        "socket": "",
        "timeout": "10",
    },
    "transfer": {
        "download_dir": "",
        "download_types": "1 2 3 4 5",
        "upload_types": "1 2 3 4",
        "max_size": "0",
        "timeout": "30",
        "hook_timeout": "900",
        "retry_delay": "10",
        "allow_basic_over_http": "false",
        "upload_method": "PUT",
        "firmware_hook": "",
        "config_hook": "",
        "file_hook": "",
        "upload_hook": "",
        "vendor_config_files": "",
        "vendor_log_files": "",
        "reboot_hook": "",
        "factory_reset_hook": "",
        "spool_dir": "",
        "spool_interval": "30",
    },
    "audit": {
        "enable": "true",
        "file": "/var/run/rocket/audit.log",
        "max_bytes": "65536",
        "buffer_bytes": "8192",
        "persist": "",
        "persist_interval": "86400",
    },
    "diagnostics": {
        "enable": "true",
        "max_connections": "4",
    },
    "policy": {
        "file": "",
    },
    "software": {
        "enable": "false",
        "systems": "",
        "root": "",
        "init": "auto",
        "allow_downgrade": "false",
        "timeout": "900",
        "poll_interval": "600",
    },
}



class ConfigError(Exception):
    pass


def url_problem(url):
    """Why ``url`` cannot be an ACS URL, or None: http(s), a host, a numeric port."""
    if any(c <= " " or c == "\x7f" for c in url):
        return "contains spaces or control characters"
    from urllib.parse import urlsplit
    try:
        u = urlsplit(url)
        u.port  # raises ValueError for a port that is not a number in 0-65535
    except ValueError as e:
        return "is not a valid URL (%s)" % e
    if u.scheme not in ("http", "https"):
        return "must start with http:// or https://"
    if not u.hostname:
        return "has no host name"
    return None


def _did_you_mean(word, known, fmt):
    import difflib
    close = difflib.get_close_matches(word, list(known), 1, 0.6)
    return ("; did you mean %s?" % (fmt % close[0])) if close else ""


class Config:
    def __init__(self, parser=None, path=None):
        self.path = path
        self.parser = parser or Ini()

    @classmethod
    def load(cls, path=None):
        """Read ``path`` (or the default path if it exists)."""
        parser = Ini()
        used = None
        if path is not None:
            try:
                with open(path, encoding="utf-8") as f:
                    parser.read_file(f)
            except OSError as e:
                raise ConfigError("cannot read %s: %s" % (path, e.strerror)) from None
            except IniError as e:
                raise ConfigError("%s: %s" % (path, e)) from None
            used = path
        else:
            try:
                with open(DEFAULT_PATH, encoding="utf-8") as f:
                    parser.read_file(f)
                used = DEFAULT_PATH
            except OSError:
                pass
            except IniError as e:
                raise ConfigError("%s: %s" % (DEFAULT_PATH, e)) from None
        cfg = cls(parser, used)
        cfg._warn_unknown()
        return cfg

    def _warn_unknown(self):
        for sec in self.parser.sections():
            if sec not in DEFAULTS and not sec.startswith("x_"):
                log.warning("config: unknown section [%s] ignored (its keys are not used)%s", sec,
                            _did_you_mean(sec, DEFAULTS, "[%s]"))
                continue
            for key in self.parser[sec]:
                if sec in DEFAULTS and key not in DEFAULTS[sec]:
                    log.warning("config: unknown key %s in [%s] ignored%s", key, sec,
                                _did_you_mean(key, DEFAULTS[sec], "%s"))

    def get(self, section, key):
        if self.parser.has_option(section, key):
            return self.parser.get(section, key).strip()
        return DEFAULTS[section][key]

    def set(self, section, key, value):
        if not self.parser.has_section(section):
            self.parser.add_section(section)
        self.parser.set(section, key, value)

    def bool(self, section, key):
        v = self.get(section, key).lower()
        if not v.strip():
            return False
        try:
            return config_bool(v)
        except ValueError:
            pass
        raise ConfigError("[%s] %s: %r is not a boolean" % (section, key, v))

    def int(self, section, key, lo=None, hi=None):
        v = self.get(section, key)
        try:
            n = int(v)
        except ValueError:
            raise ConfigError("[%s] %s: %r is not an integer" % (section, key, v)) from None
        if (lo is not None and n < lo) or (hi is not None and n > hi):
            raise ConfigError("[%s] %s: %d out of range" % (section, key, n))
        return n

    def validate(self):
        """Check every typed key once at start, so errors surface early."""
        for sec, key in (("acs", "periodic_inform_enable"), ("acs", "insecure"), ("acs", "dhcp_discovery"),
                         ("acs", "allow_basic_over_http"), ("acs", "get_rpc_methods"),
                         ("connection_request", "enable"), ("connection_request", "allow_basic"),
                         ("connection_request", "allow_unauthenticated"), ("control", "enable"),
                         ("stun", "enable"), ("udp_connection_request", "enable"), ("xmpp", "enable"),
                         ("audit", "enable")):
            self.bool(sec, key)
        self.int("acs", "periodic_inform_interval", 1)
        self.int("acs", "retry_minimum_wait_interval", 1, 65535)
        self.int("acs", "retry_interval_multiplier", 1000, 65535)
        self.int("acs", "session_timeout", 1)
        self.int("acs", "max_parameters", 1)
        self.int("acs", "max_body", 65536)  # TR-069 wants >= 32 KiB envelopes accepted
        if self.get("acs", "http_compression") not in ("Disabled", "GZIP"):
            raise ConfigError("[acs] http_compression must be Disabled or GZIP")
        self.int("connection_request", "port", 0, 65535)
        self.int("connection_request", "max_per_minute", 0)
        self.int("connection_request", "nonce_lifetime", 1, 3600)
        self.int("connection_request", "request_timeout", 1, 300)
        self.int("connection_request", "max_connections", 1, 4096)
        self.int("connection_request", "url_check_interval", 1)
        algs = self.get("connection_request", "digest_algorithms").replace(",", " ").split()
        if not algs or any(a.upper() not in ("MD5", "SHA-256", "MD5-SESS", "SHA-256-SESS") for a in algs):
            raise ConfigError("[connection_request] digest_algorithms: MD5, SHA-256, MD5-sess, SHA-256-sess")
        realm = self.get("connection_request", "realm")
        if not realm or any(c in realm for c in '"\\') or not realm.isprintable():
            raise ConfigError("[connection_request] realm must be printable, without quotes or backslashes")
        crpath = self.get("connection_request", "path")
        if crpath and (not crpath.isascii() or any(c <= " " or c in "?#\x7f" for c in crpath)):
            raise ConfigError("[connection_request] path: printable ASCII, no spaces, '?' or '#'")
        self.int("backends", "timeout", 1)
        self.int("backends", "max_output", 1024)
        self.bool("backends", "static_persist")
        self.int("notify", "poll_interval", 0)
        self.int("notify", "settle", 0, 3600)
        self.int("control", "timeout", 1, 3600)
        self.int("stun", "server_port", 0, 65535)
        self.int("stun", "minimum_keepalive", 0)
        self.int("stun", "maximum_keepalive", -1)
        self.int("udp_connection_request", "port", 0, 65535)
        self.int("udp_connection_request", "max_clock_skew", 0)
        self.int("xmpp", "port", 1, 65535)
        for key in ("keepalive_interval", "connect_timeout", "retry_initial_interval",
                    "retry_max_interval"):
            self.int("xmpp", key, 1)
        self.bool("transfer", "allow_basic_over_http")
        self.int("transfer", "max_size", 0)
        self.int("transfer", "timeout", 1)
        self.int("transfer", "hook_timeout", 1)
        self.int("transfer", "spool_interval", 0)
        try:
            float(self.get("transfer", "retry_delay"))
        except ValueError:
            raise ConfigError("[transfer] retry_delay: not a number") from None
        if self.get("transfer", "upload_method").upper() not in ("PUT", "POST"):
            raise ConfigError("[transfer] upload_method must be PUT or POST")
        self.int("audit", "max_bytes", 8192)
        self.int("audit", "buffer_bytes", 1)
        self.int("audit", "persist_interval", 0)
        if self.get("cpe", "data_model") not in ("Device", "InternetGatewayDevice"):
            raise ConfigError("[cpe] data_model must be Device or InternetGatewayDevice")
        if self.get("cpe", "cwmp_version") not in ("1.0", "1.1", "1.2", "1.3", "1.4"):
            raise ConfigError("[cpe] cwmp_version must be one of 1.0 ... 1.4")
        url = self.get("acs", "url")
        why = url_problem(url) if url else None
        if why:
            raise ConfigError("[acs] url %s %s" % (url, why))
        oui = self.get("cpe", "oui")
        if len(oui) != 6 or any(c not in "0123456789abcdefABCDEF" for c in oui):
            raise ConfigError("[cpe] oui %r: six hexadecimal digits (the IEEE OUI of the maker, e.g. 00AA11)"
                              % oui)
        if oui != oui.upper():
            log.warning("config: [cpe] oui %s used as %s (TR-069: upper-case hex)", oui, oui.upper())
            self.set("cpe", "oui", oui.upper())
