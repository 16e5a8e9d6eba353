#include "textflag.h"

// func fpcallers(skip int, pcs []uintptr) int
//
// fpcallers follows the frame-pointer chain of the calling goroutine and
// stores return addresses into pcs: pcs[0] is the return address of the Go
// function that called fpcallers (an address in that function's caller),
// pcs[1] the next one up, and so on, after skipping skip of them. Each Go
// frame on amd64 keeps its caller's BP at 0(BP) and its return address at
// 8(BP). The walk stops at a zero frame pointer, or at one that does not lie
// above the previous one (the stack grows down), so a broken chain ends it
// instead of misleading it. NOFRAME: BP is still the caller's here.
TEXT ·fpcallers(SB),NOSPLIT|NOFRAME,$0-40
	MOVQ	skip+0(FP), R8
	MOVQ	pcs_base+8(FP), DI
	MOVQ	pcs_len+16(FP), CX
	MOVQ	BP, SI
	XORQ	AX, AX
loop:
	CMPQ	AX, CX
	JGE	done
	TESTQ	SI, SI
	JZ	done
	MOVQ	8(SI), DX
	MOVQ	0(SI), R9
	TESTQ	R8, R8
	JZ	store
	DECQ	R8
	JMP	next
store:
	MOVQ	DX, (DI)(AX*8)
	INCQ	AX
next:
	CMPQ	R9, SI
	JLS	done
	MOVQ	R9, SI
	JMP	loop
done:
	MOVQ	AX, ret+32(FP)
	RET
