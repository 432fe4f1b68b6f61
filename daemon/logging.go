package daemon

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"syscall"
)

// logTimeFormat is the time field of every line in both formats
// (docs/configuration.md, "log").
const logTimeFormat = "2006-01-02T15:04:05.000Z07:00"

// NewLogger is the daemon's logger: log.format text or json, at a
// level the returned LevelVar can change while it runs (a reload). With
// journald on the other end of w (systemd sets JOURNAL_STREAM to its device
// and inode) every line starts with its syslog priority, <3> for an error
// to <7> for debug, which journald reads and strips.
func NewLogger(w io.Writer, level, format string) (*slog.Logger, *slog.LevelVar) {
	lv := new(slog.LevelVar)
	lv.Set(ParseLevel(level))
	ho := &slog.HandlerOptions{Level: lv, ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) == 0 && a.Key == slog.TimeKey && a.Value.Kind() == slog.KindTime {
			return slog.String(slog.TimeKey, a.Value.Time().Format(logTimeFormat))
		}
		return a
	}}
	if journaldStream(w) {
		w = &priorityWriter{w: w}
	}
	var h slog.Handler
	if format == "json" {
		h = slog.NewJSONHandler(w, ho)
	} else {
		h = slog.NewTextHandler(w, ho)
	}
	if pw, ok := w.(*priorityWriter); ok {
		h = priorityHandler{Handler: h, w: pw}
	}
	return slog.New(h), lv
}

// ParseLevel is log.level as a slog.Level (info when unknown).
func ParseLevel(level string) slog.Level {
	switch strings.ToLower(level) {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// journaldStream reports whether w is the stream systemd connected to
// journald: JOURNAL_STREAM is "DEV:INODE" of that stream (systemd.exec(5)).
func journaldStream(w io.Writer) bool {
	js := os.Getenv("JOURNAL_STREAM")
	f, ok := w.(*os.File)
	if js == "" || !ok {
		return false
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return false
	}
	dev, ino, _ := strings.Cut(js, ":")
	return dev == uitoa(uint64(st.Dev)) && ino == uitoa(uint64(st.Ino))
}

func uitoa(n uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	return string(b[i:])
}

// syslogPriority is sd-daemon(3)'s prefix for a level.
func syslogPriority(l slog.Level) string {
	switch {
	case l >= slog.LevelError:
		return "<3>"
	case l >= slog.LevelWarn:
		return "<4>"
	case l >= slog.LevelInfo:
		return "<6>"
	}
	return "<7>"
}

// priorityWriter puts the pending record's priority before each line the
// handler writes. slog handlers write one record in one Write call, under
// the writer's lock here.
type priorityWriter struct {
	mu     sync.Mutex
	w      io.Writer
	prefix string
}

func (p *priorityWriter) Write(b []byte) (int, error) {
	buf := make([]byte, 0, len(b)+3)
	buf = append(append(buf, p.prefix...), b...)
	if _, err := p.w.Write(buf); err != nil {
		return 0, err
	}
	return len(b), nil
}

// priorityHandler sets the writer's prefix for each record it handles.
type priorityHandler struct {
	slog.Handler
	w *priorityWriter
}

func (h priorityHandler) Handle(ctx context.Context, r slog.Record) error {
	h.w.mu.Lock()
	defer h.w.mu.Unlock()
	h.w.prefix = syslogPriority(r.Level)
	return h.Handler.Handle(ctx, r)
}

func (h priorityHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return priorityHandler{Handler: h.Handler.WithAttrs(as), w: h.w}
}

func (h priorityHandler) WithGroup(name string) slog.Handler {
	return priorityHandler{Handler: h.Handler.WithGroup(name), w: h.w}
}
