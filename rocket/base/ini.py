"""A small INI reader and writer for the configuration and policy files.

What it is for: what ``configparser`` (interpolation off) does with those
files, without its cost: configparser and the regular expressions it
compiles stay in memory for good (about 200 KiB of an idle agent). Not for:
interpolation, a DEFAULT section, inline comments, other delimiters.

Syntax, as configparser's defaults read it: ``[section]``; ``key = value``
or ``key: value``, split at the first ``=`` or ``:``, the key lower-case,
key and value stripped; whole-line comments starting with ``#`` or ``;``
(indented too); blank lines; an indented line continues the value above
(joined with a newline). A key before any section, a line that is none of
these, a section or a key twice in one file: IniError naming the line.
"""


class IniError(ValueError):
    """The file is not INI; the message says where."""


class Ini:
    """Sections of keys (``parser[section]`` is a dict key -> value)."""

    def __init__(self):
        self._sections = {}

    def read_string(self, text, source="<string>"):
        sec = key = None
        for n, line in enumerate(text.splitlines(), 1):
            s = line.strip()
            if not s or s[0] in "#;":
                continue
            if line[0] in " \t" and key is not None:
                sec[key] += "\n" + s
                continue
            key = None
            if s[0] == "[" and "]" in s:
                name = s[1:s.rindex("]")]
                if name in self._sections:
                    raise IniError("%s line %d: section [%s] given twice" % (source, n, name))
                sec = self._sections[name] = {}
                continue
            cut = min(i for i in (s.find("="), s.find(":"), len(s)) if i >= 0)
            k = s[:cut].strip().lower()
            if sec is None or cut == len(s) or not k:
                raise IniError("%s line %d: %s" % (source, n, "not in a [section]" if sec is None
                                                   else "neither [section] nor key = value: %r" % s[:80]))
            if k in sec:
                raise IniError("%s line %d: key %s given twice in its section" % (source, n, k))
            sec[k] = s[cut + 1:].strip()
            key = k

    def read_file(self, f, source=None):
        self.read_string(f.read(), source or getattr(f, "name", "<file>"))

    def sections(self):
        return list(self._sections)

    def has_section(self, section):
        return section in self._sections

    def add_section(self, section):
        self._sections.setdefault(section, {})

    def has_option(self, section, key):
        return key.lower() in self._sections.get(section, ())

    def get(self, section, key):
        return self._sections[section][key.lower()]

    def set(self, section, key, value):
        self._sections[section][key.lower()] = value

    def __getitem__(self, section):
        return self._sections[section]

    def write(self, f):
        for name, keys in self._sections.items():
            f.write("[%s]\n" % name)
            for k, v in keys.items():
                f.write("%s = %s\n" % (k, str(v).replace("\n", "\n\t")))
            f.write("\n")
