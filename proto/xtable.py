"""Export tables as spec text (proto/gen.py for cuGetExportTable's tables in
proto/export_tables.spec, proto/nvml_gen.py for nvmlInternalGetExportTable's
in proto/nvml.spec):

  table UUID NAME ENTRIES [nosize]   the table's slot count; slot 0 holds the
                                     table's size in bytes unless nosize
  INDEX HANDLER                      an entry remora answers
  INDEX null                         a data slot left 0
"""
import re
import sys


class XTable:
    def __init__(self, words):
        if len(words) not in (4, 5) or (len(words) == 5 and words[4] != "nosize"):
            sys.exit("bad table line: %r" % " ".join(words))
        self.uuid = words[1]
        if not re.match(r"[0-9a-f]{32}$", self.uuid):
            sys.exit("bad table uuid: %r" % self.uuid)
        self.name = words[2]
        self.count = int(words[3])
        self.sized = len(words) == 4
        self.entries = {}

    def add(self, words, raw):
        """An entry line of this table (words: its two words)."""
        if len(words) != 2 or not words[0].isdigit():
            sys.exit("bad export table entry: %r" % raw)
        i = int(words[0])
        if i >= self.count or (self.sized and i == 0) or i in self.entries:
            sys.exit("bad index %d in table %s" % (i, self.name))
        self.entries[i] = words[1]

    def uuid_bytes(self):
        return ", ".join("0x%s" % self.uuid[k:k + 2] for k in range(0, 32, 2))

    def handlers(self):
        return {h for h in self.entries.values() if h != "null"}

    def rows(self, unknown):
        """The table's slots as C initialisers; unknown(i) names the handler
        of slot i when no entry names one."""
        out = []
        for i in range(self.count):
            if self.sized and i == 0:
                out.append("(const void *)(uintptr_t)%d" % (8 * self.count))
            elif self.entries.get(i) == "null":
                out.append("0")
            elif i in self.entries:
                out.append("(const void *)%s" % self.entries[i])
            else:
                out.append("(const void *)%s" % unknown(i))
        return out

    def unstudied(self):
        """The slots no entry names (and that are not the size)."""
        return [i for i in range(self.count) if not (self.sized and i == 0) and i not in self.entries]
