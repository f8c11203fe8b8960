package bench

import (
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// This file reads a CircleCI configuration generically, as CircleCI runs it
// for one tag: the workflows' jobs whose filters run on the tag, matrices
// expanded, reusable commands and parameters substituted, when/unless steps
// decided. It knows no job by name; the pipeline pair (pipeline.go) costs
// the steps it returns.

// ciJob is one job of a workflow run.
type ciJob struct {
	// Name is the job's name in the workflow (publish-platform-linux-x64);
	// Def the job definition it runs (publish-platform).
	Name, Def string
	// Requires are the names of the jobs it waits for, expanded.
	Requires []string
	Steps    []ciStep
}

// ciStep is one step, reduced to what costs bytes or toolkit starts.
type ciStep struct {
	// Kind is the step's type: run, checkout, attach_workspace,
	// persist_to_workspace, restore_cache, save_cache, or another name.
	Kind    string
	Command string   // run
	At      string   // attach_workspace
	Root    string   // persist_to_workspace
	Paths   []string // persist_to_workspace, save_cache
	Keys    []string // restore_cache (key and keys), save_cache (key)
}

// node is a decoded YAML value: string, bool, int, float64, nil, []any or
// *omap.
type omap struct {
	keys []string
	vals map[string]any
}

func (m *omap) get(k string) any {
	if m == nil {
		return nil
	}
	return m.vals[k]
}

func (m *omap) mapAt(k string) *omap { v, _ := m.get(k).(*omap); return v }

func decodeNode(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return decodeNode(n.Content[0])
	case yaml.AliasNode:
		return decodeNode(n.Alias)
	case yaml.MappingNode:
		m := &omap{vals: map[string]any{}}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value == "<<" && k.Tag == "!!merge" { // YAML merge key
				merged, err := decodeNode(v)
				if err != nil {
					return nil, err
				}
				if mm, ok := merged.(*omap); ok {
					for _, mk := range mm.keys {
						if _, dup := m.vals[mk]; !dup {
							m.keys = append(m.keys, mk)
							m.vals[mk] = mm.vals[mk]
						}
					}
				}
				continue
			}
			val, err := decodeNode(v)
			if err != nil {
				return nil, err
			}
			if _, dup := m.vals[k.Value]; !dup {
				m.keys = append(m.keys, k.Value)
			}
			m.vals[k.Value] = val
		}
		return m, nil
	case yaml.SequenceNode:
		out := make([]any, len(n.Content))
		for i, c := range n.Content {
			v, err := decodeNode(c)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	default:
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, err
		}
		return v, nil
	}
}

// paramRE matches CircleCI's parameter syntax: << parameters.x >>,
// << matrix.x >>, << pipeline.x >>.
var paramRE = regexp.MustCompile(`<<\s*(parameters|matrix|pipeline)\.([A-Za-z0-9_.-]+)\s*>>`)

// substitute replaces << parameters.x >> (and << matrix.x >>) in every
// string of v by params[x]. A string that is exactly one parameter takes
// the parameter's value and type (a boolean stays a boolean; a steps
// parameter stays a list).
func substitute(v any, params map[string]any) any {
	switch x := v.(type) {
	case string:
		if m := paramRE.FindStringSubmatch(strings.TrimSpace(x)); m != nil && m[0] == strings.TrimSpace(x) && m[1] != "pipeline" {
			if p, ok := params[m[2]]; ok {
				return p
			}
		}
		return paramRE.ReplaceAllStringFunc(x, func(s string) string {
			m := paramRE.FindStringSubmatch(s)
			if m[1] == "pipeline" {
				return s
			}
			if p, ok := params[m[2]]; ok {
				return fmt.Sprint(p)
			}
			return s
		})
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = substitute(e, params)
		}
		return out
	case *omap:
		out := &omap{keys: x.keys, vals: make(map[string]any, len(x.vals))}
		for k, e := range x.vals {
			out.vals[k] = substitute(e, params)
		}
		return out
	}
	return v
}

// paramDefaults are the defaults of a job's or command's parameters.
func paramDefaults(def *omap) map[string]any {
	out := map[string]any{}
	ps := def.mapAt("parameters")
	if ps == nil {
		return out
	}
	for _, k := range ps.keys {
		if p, ok := ps.vals[k].(*omap); ok {
			if d, ok := p.vals["default"]; ok {
				out[k] = d
			}
		}
	}
	return out
}

// workflowKeys are a workflow job entry's own keys; the others are the
// job's parameters.
var workflowKeys = map[string]bool{"name": true, "requires": true, "context": true, "filters": true, "matrix": true,
	"type": true, "pre-steps": true, "post-steps": true, "serial-group": true, "override-with": true}

// parseCircleCI returns the jobs that a push of tag runs, in workflow
// order, with their steps.
func parseCircleCI(data []byte, tag string) ([]ciJob, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("bench: the CircleCI configuration: %w", err)
	}
	v, err := decodeNode(&doc)
	if err != nil {
		return nil, fmt.Errorf("bench: the CircleCI configuration: %w", err)
	}
	root, ok := v.(*omap)
	if !ok {
		return nil, fmt.Errorf("bench: the CircleCI configuration is not a mapping")
	}
	p := &ciParser{commands: root.mapAt("commands"), jobs: root.mapAt("jobs")}
	var out []ciJob
	wfs := root.mapAt("workflows")
	if wfs == nil {
		return nil, fmt.Errorf("bench: the CircleCI configuration has no workflows")
	}
	for _, wname := range wfs.keys {
		wf, ok := wfs.vals[wname].(*omap)
		if !ok { // "version: 2"
			continue
		}
		jobs, err := p.workflow(wf, tag)
		if err != nil {
			return nil, fmt.Errorf("bench: workflow %s: %w", wname, err)
		}
		out = append(out, jobs...)
	}
	return out, nil
}

type ciParser struct {
	commands, jobs *omap
}

// workflow expands a workflow's jobs that run on tag.
func (p *ciParser) workflow(wf *omap, tag string) ([]ciJob, error) {
	list, _ := wf.get("jobs").([]any)
	type entry struct {
		job   ciJob
		alias string
	}
	var entries []entry
	for _, item := range list {
		def, args := "", (*omap)(nil)
		switch x := item.(type) {
		case string:
			def = x
		case *omap:
			if len(x.keys) != 1 {
				return nil, fmt.Errorf("a job entry with %d keys", len(x.keys))
			}
			def = x.keys[0]
			args, _ = x.vals[def].(*omap)
		}
		if !runsOnTag(args.mapAt("filters"), tag) {
			continue
		}
		jdef, ok := p.jobs.get(def).(*omap)
		if !ok {
			return nil, fmt.Errorf("job %s is not defined (orb jobs are not read)", def)
		}
		alias := def
		if m := args.mapAt("matrix"); m != nil {
			if a, ok := m.get("alias").(string); ok {
				alias = a
			}
		}
		for _, combo := range matrixCombos(args.mapAt("matrix")) {
			params := paramDefaults(jdef)
			if args != nil {
				for _, k := range args.keys {
					if !workflowKeys[k] {
						params[k] = args.vals[k]
					}
				}
			}
			for k, v := range combo.values {
				params[k] = v
			}
			name := def
			if n, ok := args.get("name").(string); ok {
				name = fmt.Sprint(substitute(n, combo.values))
			} else if len(combo.order) > 0 {
				for _, k := range combo.order {
					name += "-" + fmt.Sprint(combo.values[k])
				}
			}
			var requires []string
			if rs, ok := args.get("requires").([]any); ok {
				for _, r := range rs {
					if s, ok := r.(string); ok {
						requires = append(requires, fmt.Sprint(substitute(s, combo.values)))
					} else if m, ok := r.(*omap); ok { // requires: [{job: [success]}]
						requires = append(requires, m.keys...)
					}
				}
			}
			var raw []any
			if pre, ok := args.get("pre-steps").([]any); ok {
				raw = append(raw, pre...)
			}
			steps, _ := jdef.get("steps").([]any)
			raw = append(raw, steps...)
			if post, ok := args.get("post-steps").([]any); ok {
				raw = append(raw, post...)
			}
			expanded, err := p.steps(substitute(raw, params).([]any), 0)
			if err != nil {
				return nil, fmt.Errorf("job %s: %w", name, err)
			}
			entries = append(entries, entry{job: ciJob{Name: name, Def: def, Requires: requires, Steps: expanded}, alias: alias})
		}
	}
	// A requirement may name a matrix's alias: every job of the matrix.
	byAlias := map[string][]string{}
	for _, e := range entries {
		byAlias[e.alias] = append(byAlias[e.alias], e.job.Name)
	}
	names := map[string]bool{}
	for _, e := range entries {
		names[e.job.Name] = true
	}
	out := make([]ciJob, len(entries))
	for i, e := range entries {
		var reqs []string
		for _, r := range e.job.Requires {
			switch {
			case names[r]:
				reqs = append(reqs, r)
			case len(byAlias[r]) > 0:
				reqs = append(reqs, byAlias[r]...)
			}
		}
		e.job.Requires = reqs
		out[i] = e.job
	}
	return out, nil
}

type combo struct {
	order  []string
	values map[string]any
}

// matrixCombos is the cartesian product of a matrix's parameters, in the
// order CircleCI names the jobs, less its excluded combinations; a job with
// no matrix is one combination of no values.
func matrixCombos(m *omap) []combo {
	ps := m.mapAt("parameters")
	if ps == nil {
		return []combo{{values: map[string]any{}}}
	}
	combos := []combo{{values: map[string]any{}}}
	for _, k := range ps.keys {
		vals, _ := ps.vals[k].([]any)
		var next []combo
		for _, c := range combos {
			for _, v := range vals {
				nc := combo{order: append(append([]string(nil), c.order...), k), values: map[string]any{}}
				for kk, vv := range c.values {
					nc.values[kk] = vv
				}
				nc.values[k] = v
				next = append(next, nc)
			}
		}
		combos = next
	}
	excl, _ := m.get("exclude").([]any)
	var out []combo
	for _, c := range combos {
		skip := false
		for _, e := range excl {
			em, ok := e.(*omap)
			if !ok {
				continue
			}
			all := true
			for _, k := range em.keys {
				if fmt.Sprint(c.values[k]) != fmt.Sprint(em.vals[k]) {
					all = false
				}
			}
			skip = skip || all
		}
		if !skip {
			out = append(out, c)
		}
	}
	return out
}

// runsOnTag reports whether a workflow job with these filters runs for a
// push of tag: CircleCI runs a job for tags only when its filters name tags,
// and then for those that "only" matches and "ignore" does not.
func runsOnTag(filters *omap, tag string) bool {
	tags := filters.mapAt("tags")
	if tags == nil {
		return false
	}
	if only := tags.get("only"); only != nil && !matchesAny(only, tag) {
		return false
	}
	if ignore := tags.get("ignore"); ignore != nil && matchesAny(ignore, tag) {
		return false
	}
	return true
}

// matchesAny matches s against a CircleCI filter: a string or a list of
// strings, each a /regexp/ (matching the whole value) or a literal.
func matchesAny(f any, s string) bool {
	var pats []string
	switch x := f.(type) {
	case string:
		pats = []string{x}
	case []any:
		for _, e := range x {
			pats = append(pats, fmt.Sprint(e))
		}
	}
	for _, p := range pats {
		if len(p) >= 2 && strings.HasPrefix(p, "/") && strings.HasSuffix(p, "/") {
			re, err := regexp.Compile("^(?:" + p[1:len(p)-1] + ")$")
			if err == nil && re.MatchString(s) {
				return true
			}
		} else if p == s {
			return true
		}
	}
	return false
}

// maxCommandDepth bounds reusable commands calling each other.
const maxCommandDepth = 16

// steps reduces raw steps, expanding reusable commands and when/unless.
func (p *ciParser) steps(raw []any, depth int) ([]ciStep, error) {
	if depth > maxCommandDepth {
		return nil, fmt.Errorf("reusable commands nested deeper than %d", maxCommandDepth)
	}
	var out []ciStep
	for _, s := range raw {
		kind, body := "", any(nil)
		switch x := s.(type) {
		case string:
			kind = x
		case *omap:
			if len(x.keys) != 1 {
				return nil, fmt.Errorf("a step with %d keys (%s)", len(x.keys), strings.Join(x.keys, ", "))
			}
			kind, body = x.keys[0], x.vals[x.keys[0]]
		default:
			continue
		}
		bm, _ := body.(*omap)
		switch kind {
		case "run":
			// The cost is a release's that succeeds: steps that run only
			// when an earlier one failed (when: on_fail) do not run.
			if w, _ := bm.get("when").(string); w == "on_fail" {
				continue
			}
			cmd, ok := body.(string)
			if !ok {
				cmd = fmt.Sprint(bm.get("command"))
			}
			out = append(out, ciStep{Kind: kind, Command: cmd})
		case "attach_workspace":
			at, _ := bm.get("at").(string)
			out = append(out, ciStep{Kind: kind, At: at})
		case "persist_to_workspace":
			root, _ := bm.get("root").(string)
			out = append(out, ciStep{Kind: kind, Root: root, Paths: stringList(bm.get("paths"))})
		case "restore_cache":
			keys := stringList(bm.get("keys"))
			if k, ok := bm.get("key").(string); ok {
				keys = append([]string{k}, keys...)
			}
			out = append(out, ciStep{Kind: kind, Keys: keys})
		case "save_cache":
			k, _ := bm.get("key").(string)
			out = append(out, ciStep{Kind: kind, Keys: []string{k}, Paths: stringList(bm.get("paths"))})
		case "when", "unless":
			cond := truthy(bm.get("condition"))
			if cond == (kind == "when") {
				inner, _ := bm.get("steps").([]any)
				steps, err := p.steps(inner, depth+1)
				if err != nil {
					return nil, err
				}
				out = append(out, steps...)
			}
		default:
			cmd, ok := p.commands.get(kind).(*omap)
			if !ok {
				out = append(out, ciStep{Kind: kind})
				continue
			}
			params := paramDefaults(cmd)
			if bm != nil {
				for _, k := range bm.keys {
					params[k] = bm.vals[k]
				}
			}
			inner, _ := cmd.get("steps").([]any)
			steps, err := p.steps(substitute(inner, params).([]any), depth+1)
			if err != nil {
				return nil, fmt.Errorf("command %s: %w", kind, err)
			}
			out = append(out, steps...)
		}
	}
	return out, nil
}

func stringList(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, fmt.Sprint(e))
		}
		return out
	}
	return nil
}

// truthy evaluates a when/unless condition: a value, or a logic statement
// (and, or, not, equal, matches). Anything it cannot decide counts as true.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != "" && x != "false" // an unresolved << pipeline.x >> cannot be decided
	case int:
		return x != 0
	case float64:
		return x != 0
	case []any:
		return len(x) > 0
	case *omap:
		switch {
		case x.get("not") != nil:
			return !truthy(x.get("not"))
		case x.get("and") != nil:
			for _, e := range stringOrList(x.get("and")) {
				if !truthy(e) {
					return false
				}
			}
			return true
		case x.get("or") != nil:
			for _, e := range stringOrList(x.get("or")) {
				if truthy(e) {
					return true
				}
			}
			return false
		case x.get("equal") != nil:
			vals := stringOrList(x.get("equal"))
			for _, e := range vals {
				if fmt.Sprint(e) != fmt.Sprint(vals[0]) {
					return false
				}
			}
			return true
		case x.get("matches") != nil:
			m := x.mapAt("matches")
			re, err := regexp.Compile("^(?:" + fmt.Sprint(m.get("pattern")) + ")$")
			return err != nil || re.MatchString(fmt.Sprint(m.get("value")))
		}
	}
	return true
}

func stringOrList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return []any{v}
}

// upstreamOf returns, for each job, every job it waits for, directly or
// not.
func upstreamOf(jobs []ciJob) map[string][]string {
	direct := map[string][]string{}
	for _, j := range jobs {
		direct[j.Name] = j.Requires
	}
	out := map[string][]string{}
	for _, j := range jobs {
		seen := map[string]bool{}
		var visit func(string)
		visit = func(n string) {
			for _, r := range direct[n] {
				if !seen[r] {
					seen[r] = true
					visit(r)
				}
			}
		}
		visit(j.Name)
		for n := range seen {
			out[j.Name] = append(out[j.Name], n)
		}
		sort.Strings(out[j.Name])
	}
	return out
}

// topoOrder orders jobs so that each comes after those it requires, keeping
// the workflow's order otherwise.
func topoOrder(jobs []ciJob) ([]ciJob, error) {
	index := map[string]int{}
	for i, j := range jobs {
		index[j.Name] = i
	}
	state := make([]int, len(jobs)) // 0 new, 1 visiting, 2 done
	var out []ciJob
	var visit func(i int) error
	visit = func(i int) error {
		switch state[i] {
		case 1:
			return fmt.Errorf("bench: the workflow's requires form a cycle through %s", jobs[i].Name)
		case 2:
			return nil
		}
		state[i] = 1
		for _, r := range jobs[i].Requires {
			if k, ok := index[r]; ok {
				if err := visit(k); err != nil {
					return err
				}
			}
		}
		state[i] = 2
		out = append(out, jobs[i])
		return nil
	}
	for i := range jobs {
		if err := visit(i); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// cleanRel cleans a path of the working directory ("./dist/" → "dist").
func cleanRel(p string) string {
	p = path.Clean(strings.TrimSpace(p))
	return strings.TrimPrefix(p, "./")
}
