/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nt_stream_isa.h -- one instruction set's whole-line copy and fill for the
 * streaming engine (nt_stream.c): nt_lines.h's loops behind the two entry
 * points the engine dispatches to. A template, included once per set
 * inside its target pragma; the includer defines what nt_lines.h needs
 * and VSET1(c), a vector of the byte c. Everything it defined is
 * undefined again here.
 */
#include "nt_lines.h"

static void
F(copy_lines)(char *dst, const char *src, size_t nlines)
{
	F(nt_copy_fwd)(dst, dst + nlines * LINE, src);
}

static void
F(fill_lines)(char *dst, int c, size_t nlines)
{
	F(nt_fill)(dst, dst + nlines * LINE, VSET1(c));
}

#undef F
#undef vec_t
#undef LINE_VECS
#undef VLOADU
#undef VSTREAM
#undef VSET1
