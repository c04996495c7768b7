/*
 * pvh.S - a tiny guest entered through the PVH boot ABI: 32-bit protected
 * mode, paging off, ebx = hvm_start_info, no stack.  Checks the magic, prints its
 * command line and the memory map size from start_info, then resets.
 */
	.section .note.Xen, "a"
	.balign 4
	.long 4, 4, 18            /* namesz, descsz, XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.long pvh_start

	.text
	.code32
	.globl _start
_start:
pvh_start:
	mov	$0x8ff0, %esp         /* the PVH ABI gives no stack */
	mov	%ebx, %esi
	cmpl	$0x336ec578, (%esi)
	jne	bad_magic
	mov	$msg_ok, %edi
	call	puts
	mov	24(%esi), %edi          /* cmdline_paddr (low half) */
	call	puts
	mov	$msg_mm, %edi
	call	puts
	mov	48(%esi), %eax          /* memmap_entries */
	add	$'0', %al
	call	putc
	mov	$msg_mods, %edi
	call	puts
	mov	12(%esi), %eax          /* nr_modules */
	add	$'0', %al
	call	putc
	mov	$'\n', %al
	call	putc
	jmp	reset
bad_magic:
	mov	$msg_bad, %edi
	call	puts
reset:
	mov	$0xfe, %al
	out	%al, $0x64
1:	cli
	hlt
	jmp	1b

/* putc: al = byte; clobbers edx, ecx */
putc:
	mov	%eax, %ecx
	mov	$0x3fd, %dx
2:	in	%dx, %al
	test	$0x20, %al
	jz	2b
	mov	$0x3f8, %dx
	mov	%ecx, %eax
	out	%al, %dx
	ret

/* puts: edi = NUL-terminated string */
puts:
	movb	(%edi), %al
	test	%al, %al
	jz	3f
	call	putc
	inc	%edi
	jmp	puts
3:	ret

	.section .rodata
msg_ok:   .asciz "pvh: 32-bit entry, start_info magic ok, cmdline '"
msg_mm:   .asciz "' memmap entries "
msg_mods: .asciz " modules "
msg_bad:  .asciz "pvh: bad start_info magic\n"
