#include "textflag.h"

// func fpcallers(skip int, pcs []uintptr) int
//
// The arm64 twin of fp_amd64.s. A Go frame on arm64 saves its caller's frame
// pointer (R29) at 0(R29) and its own return address (R30) at 8(R29), the
// same layout the runtime's frame-pointer unwinder relies on.
TEXT ·fpcallers(SB),NOSPLIT|NOFRAME,$0-40
	MOVD	skip+0(FP), R4
	MOVD	pcs_base+8(FP), R5
	MOVD	pcs_len+16(FP), R6
	MOVD	R29, R1
	MOVD	$0, R0
loop:
	CMP	R6, R0
	BGE	done
	CBZ	R1, done
	MOVD	8(R1), R2
	MOVD	0(R1), R3
	CBZ	R4, store
	SUB	$1, R4
	B	next
store:
	MOVD	R2, (R5)(R0<<3)
	ADD	$1, R0
next:
	CMP	R1, R3
	BLS	done
	MOVD	R3, R1
	B	loop
done:
	MOVD	R0, ret+32(FP)
	RET
