package execsup

import (
	"bytes"
	"log/slog"
	"os"
)

// maxLine bounds a line held back while waiting for its newline, so that a
// child writing without newlines cannot grow ruche's memory.
const maxLine = 8 << 10

// output receives a child's stdout and stderr: bytes as they come to the log
// file, whole lines to the logger. os/exec calls Write from one goroutine
// at a time since stdout and stderr share it.
type output struct {
	file *os.File // nil when the log file could not be opened
	log  *slog.Logger
	buf  []byte // the line not yet ended
}

// Write never fails: a log that cannot be written must not block or kill
// the service that writes it.
func (o *output) Write(p []byte) (int, error) {
	if o.file != nil {
		_, _ = o.file.Write(p)
	}
	o.buf = append(o.buf, p...)
	rest := o.buf
	for {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			break
		}
		o.emit(rest[:i])
		rest = rest[i+1:]
	}
	if len(rest) >= maxLine {
		o.emit(rest)
		rest = nil
	}
	o.buf = append(o.buf[:0], rest...)
	return len(p), nil
}

func (o *output) emit(line []byte) {
	line = bytes.TrimRight(line, "\r")
	if len(line) > 0 {
		o.log.Info(string(line))
	}
}

// Close hands on a last line that had no newline and closes the file.
func (o *output) Close() {
	o.emit(o.buf)
	o.buf = nil
	if o.file != nil {
		_ = o.file.Close()
		o.file = nil
	}
}
