package command

import (
	"bytes"
	"strconv"
	"strings"
	"sync"
)

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

// lines is a writer that sends every complete line written to it on c:
// a test waits for a program to say something instead of for a while.
type lines struct {
	mu  sync.Mutex
	buf bytes.Buffer
	c   chan string
}

func newLines() *lines { return &lines{c: make(chan string, 100)} }

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	for {
		line, err := l.buf.ReadString('\n')
		if err != nil {
			l.buf.WriteString(line) // incomplete: keep it for the next write
			return len(p), nil
		}
		l.c <- strings.TrimSpace(line)
	}
}
