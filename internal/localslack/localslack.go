// Package localslack is a throwaway emulator of the two ways a release
// posts to Slack, written from Slack's documentation: the Web API's
// chat.postMessage (a bot token, a channel; HTTP 200 with "ok": false and
// an error code when refused) and incoming webhooks (a secret URL; "ok", or
// a 4xx with an error code as the body). `mage rehearse` posts its notices
// here and the tests of notify read them back. Down makes it answer 503,
// as in an outage.
package localslack

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/agent-facets/release/internal/loopback"
)

// Server is a running emulator.
type Server struct {
	// URL is the root, ending in "/"; the Web API is at APIURL.
	URL string

	srv      *loopback.Server
	mu       sync.Mutex
	tokens   map[string]bool
	channels map[string]string // name (with #) or id -> id
	webhooks map[string]string // path -> channel id
	down     int
	posts    []Post
	requests int
	changed  chan struct{}
}

// Post is a message Slack accepted.
type Post struct {
	// Via is "chat.postMessage" or "webhook"; Channel the channel's id.
	Via, Channel string
	Text         string
	// Blocks is the message's blocks as JSON.
	Blocks json.RawMessage
	Time   time.Time
}

// New starts an emulator on a free loopback port.
func New() (*Server, error) {
	ln, url, err := loopback.Listen("localslack")
	if err != nil {
		return nil, err
	}
	s := &Server{URL: url, tokens: map[string]bool{}, channels: map[string]string{}, webhooks: map[string]string{}, changed: make(chan struct{})}
	s.srv = loopback.Serve(ln, http.HandlerFunc(s.serve))
	return s, nil
}

// Close stops the emulator.
func (s *Server) Close() { s.srv.Close() }

// APIURL is the Web API's base URL, as release.json's slack.apiURL takes it.
func (s *Server) APIURL() string { return s.URL + "api/" }

// Channel creates a channel named name (e.g. "#releases") and returns its id.
func (s *Server) Channel(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := "C" + loopback.Random(10, loopback.Upper)
	s.channels[name], s.channels[id] = id, id
	return id
}

// BotToken returns a new bot token.
func (s *Server) BotToken() string {
	t := "xoxb-" + loopback.Random(12, loopback.Digits) + "-" + loopback.Random(24, loopback.Alnum)
	s.mu.Lock()
	s.tokens[t] = true
	s.mu.Unlock()
	return t
}

// Webhook returns the URL of a new incoming webhook posting to the channel.
func (s *Server) Webhook(channel string) string {
	path := "services/T" + loopback.Random(8, loopback.Upper) + "/B" + loopback.Random(8, loopback.Upper) + "/" + loopback.Random(24, loopback.Alnum)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.webhooks["/"+path] = s.channels[channel]
	return s.URL + path
}

// Down makes the next n requests (every one when n < 0) answer 503.
func (s *Server) Down(n int) {
	s.mu.Lock()
	s.down = n
	s.mu.Unlock()
}

// Posts returns the accepted messages, oldest first.
func (s *Server) Posts() []Post {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.posts)
}

// Requests is how many requests arrived.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// AwaitRequests waits until n requests have been answered.
func (s *Server) AwaitRequests(ctx context.Context, n int) error {
	for {
		s.mu.Lock()
		got, wait := s.requests, s.changed
		s.mu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return fmt.Errorf("localslack: %d of %d requests: %w", got, n, ctx.Err())
		}
	}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	defer func() {
		s.mu.Lock()
		s.requests++
		close(s.changed)
		s.changed = make(chan struct{})
		s.mu.Unlock()
	}()
	s.mu.Lock()
	down := s.down != 0
	if s.down > 0 {
		s.down--
	}
	s.mu.Unlock()
	if down {
		w.Header().Set("Retry-After", "0")
		http.Error(w, "service unavailable", http.StatusServiceUnavailable)
		return
	}
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	var msg struct {
		Channel string          `json:"channel"`
		Text    string          `json:"text"`
		Blocks  json.RawMessage `json:"blocks"`
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	jsonErr := json.Unmarshal(body, &msg)
	empty := strings.TrimSpace(msg.Text) == "" && (len(msg.Blocks) == 0 || string(msg.Blocks) == "null" || string(msg.Blocks) == "[]")
	switch {
	case r.URL.Path == "/api/chat.postMessage":
		answer := func(v map[string]any) {
			data, _ := json.Marshal(v)
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			_, _ = w.Write(data)
		}
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		s.mu.Lock()
		known := s.tokens[tok]
		id := s.channels[msg.Channel]
		s.mu.Unlock()
		switch {
		case !ok || tok == "":
			answer(map[string]any{"ok": false, "error": "not_authed"})
		case !known:
			answer(map[string]any{"ok": false, "error": "invalid_auth"})
		case jsonErr != nil:
			answer(map[string]any{"ok": false, "error": "invalid_json"})
		case id == "":
			answer(map[string]any{"ok": false, "error": "channel_not_found"})
		case empty:
			answer(map[string]any{"ok": false, "error": "no_text"})
		default:
			ts := s.record(Post{Via: "chat.postMessage", Channel: id, Text: msg.Text, Blocks: msg.Blocks})
			answer(map[string]any{"ok": true, "channel": id, "ts": ts, "message": map[string]any{"text": msg.Text, "type": "message", "ts": ts}})
		}
	case strings.HasPrefix(r.URL.Path, "/services/"):
		s.mu.Lock()
		id, ok := s.webhooks[r.URL.Path]
		s.mu.Unlock()
		switch {
		case !ok:
			http.Error(w, "no_service", http.StatusNotFound)
		case jsonErr != nil:
			http.Error(w, "invalid_payload", http.StatusBadRequest)
		case empty:
			http.Error(w, "no_text", http.StatusBadRequest)
		default:
			s.record(Post{Via: "webhook", Channel: id, Text: msg.Text, Blocks: msg.Blocks})
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, "ok")
		}
	default:
		http.Error(w, "not found", http.StatusNotFound)
	}
}

func (s *Server) record(p Post) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	p.Time = time.Now()
	s.posts = append(s.posts, p)
	return strconv.FormatInt(p.Time.Unix(), 10) + "." + fmt.Sprintf("%06d", len(s.posts))
}
