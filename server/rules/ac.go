package rules

// matcher is an Aho–Corasick automaton over bytes, compiled to a dense DFA on
// a compressed alphabet: every byte that occurs in no pattern shares one
// class, so the table stays small (states × classes) and a scan is one table
// lookup per input byte whatever the number of patterns. Up to 65,536
// states the table holds 16-bit states, half the memory of 32-bit ones.
type matcher struct {
	class   [256]uint16
	nclass  int
	next16  []uint16 // state*nclass + class → state, when the states fit
	next32  []int32  // the same otherwise
	out     [][]int32
	lengths []int
}

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
	// Trie with sparse children first.
	type node struct {
		child map[uint16]int32
		fail  int32
		out   []int32
	}
	nodes := []node{{child: map[uint16]int32{}}}
	for id, p := range patterns {
		m.lengths[id] = len(p)
		s := int32(0)
		for i := 0; i < len(p); i++ {
			c := m.class[p[i]]
			n, ok := nodes[s].child[c]
			if !ok {
				nodes = append(nodes, node{child: map[uint16]int32{}})
				n = int32(len(nodes) - 1)
				nodes[s].child[c] = n
			}
			s = n
		}
		nodes[s].out = append(nodes[s].out, int32(id))
	}
	// Breadth-first: failure links, then the dense transition table.
	next := make([]int32, len(nodes)*m.nclass)
	m.out = make([][]int32, len(nodes))
	queue := []int32{0}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		m.out[s] = append(m.out[s], nodes[s].out...)
		if s != 0 {
			m.out[s] = append(m.out[s], m.out[nodes[s].fail]...)
		}
		for c := 0; c < m.nclass; c++ {
			if n, ok := nodes[s].child[uint16(c)]; ok {
				if s == 0 {
					nodes[n].fail = 0
				} else {
					nodes[n].fail = next[int(nodes[s].fail)*m.nclass+c]
				}
				next[int(s)*m.nclass+c] = n
				queue = append(queue, n)
			} else if s != 0 {
				next[int(s)*m.nclass+c] = next[int(nodes[s].fail)*m.nclass+c]
			}
		}
	}
	if len(nodes) > 1<<16 {
		m.next32 = next
		return m
	}
	m.next16 = make([]uint16, len(next))
	for i, n := range next {
		m.next16[i] = uint16(n)
	}
	return m
}

// scan calls hit(pattern, end) for every occurrence, end being the offset
// just past the match. hit returns false to stop early.
func (m *matcher) scan(text string, hit func(id int, end int) bool) {
	if m.next16 != nil {
		scanTable(m, m.next16, text, hit)
	} else {
		scanTable(m, m.next32, text, hit)
	}
}

func scanTable[T uint16 | int32](m *matcher, next []T, text string, hit func(id int, end int) bool) {
	s := 0
	nc := m.nclass
	for i := 0; i < len(text); i++ {
		s = int(next[s*nc+int(m.class[text[i]])])
		if len(m.out[s]) > 0 {
			for _, id := range m.out[s] {
				if !hit(int(id), i+1) {
					return
				}
			}
		}
	}
}
