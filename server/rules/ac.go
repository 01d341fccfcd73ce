package rules

import "slices"

// matcher is an Aho–Corasick automaton over bytes on a compressed alphabet:
// every byte that occurs in no pattern shares one class. States are numbered
// breadth-first. Those up to denseDepth bytes deep, where a scan spends most
// of its time, have a dense row of transitions (one table lookup per input
// byte). The deeper ones, most of a large automaton's states but rarely
// visited, keep only their children and their failure state, so the
// memory grows with the patterns' bytes, not with states × classes.
type matcher struct {
	class  [256]uint16
	nclass int
	// next is the dense rows: state*nclass + class → state, for the states
	// below ndense.
	next   []int32
	ndense int32
	// A deep state s has the children edges[first[i]:first[i+1]] (sorted
	// by class) and the failure state fail[i], i being s-ndense.
	first []int32
	edges []edge
	fail  []int32
	// The patterns that end in state s are outs[outFirst[s]:outFirst[s+1]].
	outFirst []int32
	outs     []int32
	lengths  []int
}

// edge is a deep state's child: the class of its byte and its state.
type edge struct {
	class uint16
	to    int32
}

// denseDepth is how deep the states with a dense row go. Over ordinary
// text a scan of the shipped rules' phrases sits within it most of the
// time; deeper, a step costs a short search of a state's children and,
// on a miss, of its failure states'.
const denseDepth = 4

// newMatcher compiles the patterns (already normalised, non-empty).
func newMatcher(patterns []string) *matcher {
	m := &matcher{lengths: make([]int, len(patterns))}
	// Alphabet: class 0 is "any byte not in a pattern".
	m.nclass = 1
	for _, p := range patterns {
		for i := 0; i < len(p); i++ {
			if m.class[p[i]] == 0 {
				m.class[p[i]] = uint16(m.nclass)
				m.nclass++
			}
		}
	}
	// The trie, numbered as it is built.
	type node struct {
		kids []edge // sorted by class once renumbered
		out  []int32
	}
	trie := []node{{}}
	for id, p := range patterns {
		m.lengths[id] = len(p)
		s := int32(0)
		for i := 0; i < len(p); i++ {
			c := m.class[p[i]]
			j := slices.IndexFunc(trie[s].kids, func(e edge) bool { return e.class == c })
			if j < 0 {
				trie = append(trie, node{})
				trie[s].kids = append(trie[s].kids, edge{c, int32(len(trie) - 1)})
				j = len(trie[s].kids) - 1
			}
			s = trie[s].kids[j].to
		}
		trie[s].out = append(trie[s].out, int32(id))
	}
	// Renumbered breadth-first, children in class order: a state's
	// failure state and every shallower state come before it.
	order := []int32{0}
	depth := []int{0}
	for i := 0; i < len(order); i++ {
		n := &trie[order[i]]
		slices.SortFunc(n.kids, func(a, b edge) int { return int(a.class) - int(b.class) })
		for k, e := range n.kids {
			order = append(order, e.to)
			depth = append(depth, depth[i]+1)
			n.kids[k].to = int32(len(order) - 1) // the child's new number
		}
	}
	for m.ndense < int32(len(order)) && depth[m.ndense] <= denseDepth {
		m.ndense++
	}
	nsparse := len(order) - int(m.ndense)
	m.next = make([]int32, int(m.ndense)*m.nclass)
	m.first = make([]int32, 1, nsparse+1)
	m.fail = make([]int32, nsparse)
	m.outFirst = make([]int32, 1, len(order)+1)
	failOf := make([]int32, len(order)) // every state's failure state, while building
	for s, old := range order {
		n := trie[old]
		// A state's patterns are its own and its failure state's.
		m.outs = append(m.outs, n.out...)
		if s > 0 {
			f := failOf[s]
			m.outs = append(m.outs, m.outs[m.outFirst[f]:m.outFirst[f+1]]...)
		}
		m.outFirst = append(m.outFirst, int32(len(m.outs)))
		if s > 0 {
			for _, e := range n.kids {
				failOf[e.to] = m.step(failOf[s], e.class)
			}
		}
		if int32(s) < m.ndense {
			row := m.next[s*m.nclass : (s+1)*m.nclass]
			if s > 0 {
				f := int(failOf[s])
				copy(row, m.next[f*m.nclass:(f+1)*m.nclass])
			}
			for _, e := range n.kids {
				row[e.class] = e.to
			}
			continue
		}
		m.edges = append(m.edges, n.kids...)
		m.first = append(m.first, int32(len(m.edges)))
		m.fail[s-int(m.ndense)] = failOf[s]
	}
	return m
}

// step returns the state after s on a byte of class c.
func (m *matcher) step(s int32, c uint16) int32 {
	for s >= m.ndense {
		i := s - m.ndense
		for _, e := range m.edges[m.first[i]:m.first[i+1]] {
			if e.class == c {
				return e.to
			}
		}
		s = m.fail[i]
	}
	return m.next[int(s)*m.nclass+int(c)]
}

// scan calls hit(pattern, end) for every occurrence, end being the offset
// just past the match. hit returns false to stop early.
func (m *matcher) scan(text string, hit func(id int, end int) bool) {
	s := int32(0)
	for i := 0; i < len(text); i++ {
		s = m.step(s, m.class[text[i]])
		if a, b := m.outFirst[s], m.outFirst[s+1]; a < b {
			for _, id := range m.outs[a:b] {
				if !hit(int(id), i+1) {
					return
				}
			}
		}
	}
}
