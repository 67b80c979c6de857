/**
 * What already lives on a device: the signatures `format` checks before it overwrites
 * anything. Pure, no I/O: give it the device's first SIGNATURE_PROBE_BYTES (or fewer, for a
 * small device). Offsets follow util-linux libblkid's probes.
 */

/** Bytes from offset 0 that cover every probe below (btrfs's superblock sits at 64 KiB). */
export const SIGNATURE_PROBE_BYTES = 72 * 1024;

interface Probe {
  readonly name: string;
  readonly offset: number;
  readonly magic: Uint8Array;
}

const ascii = (s: string): Uint8Array => Buffer.from(s, 'latin1');

const PROBES: readonly Probe[] = [
  { name: 'a Kiseki device', offset: 0, magic: ascii('KSKDEV01') },
  { name: 'an ext2/3/4 filesystem', offset: 1024 + 56, magic: Uint8Array.of(0x53, 0xef) },
  { name: 'an XFS filesystem', offset: 0, magic: ascii('XFSB') },
  { name: 'a btrfs filesystem', offset: 65536 + 64, magic: ascii('_BHRfS_M') },
  { name: 'an F2FS filesystem', offset: 1024, magic: Uint8Array.of(0x10, 0x20, 0xf5, 0xf2) },
  { name: 'a LUKS volume', offset: 0, magic: Uint8Array.of(0x4c, 0x55, 0x4b, 0x53, 0xba, 0xbe) },
  { name: 'an LVM2 physical volume', offset: 512, magic: ascii('LABELONE') },
  { name: 'a GPT partition table', offset: 512, magic: ascii('EFI PART') },
  { name: 'a Linux swap area', offset: 4096 - 10, magic: ascii('SWAPSPACE2') },
  { name: 'an NTFS filesystem', offset: 3, magic: ascii('NTFS    ') },
  { name: 'a FAT filesystem', offset: 82, magic: ascii('FAT32   ') },
  { name: 'a FAT filesystem', offset: 54, magic: ascii('FAT1') },
  { name: 'an ISO 9660 image', offset: 32769, magic: ascii('CD001') },
  {
    name: 'a bcache device',
    offset: 4096 + 24,
    magic: Uint8Array.of(0xc6, 0x85, 0x73, 0xf6, 0x4e, 0x1a, 0x45, 0xca),
  },
];

/**
 * The name of the first signature found ("an ext2/3/4 filesystem", …), or undefined. An MBR
 * boot signature (0x55AA at 510) also counts: the device holds a partition table or a boot
 * sector, and wiping it is never what someone formatting a data device meant.
 */
export function findSignature(head: Uint8Array): string | undefined {
  for (const p of PROBES) {
    if (head.length < p.offset + p.magic.length) continue;
    if (Buffer.from(head.buffer, head.byteOffset + p.offset, p.magic.length).equals(p.magic)) return p.name;
  }
  if (head.length >= 512 && head[510] === 0x55 && head[511] === 0xaa)
    return 'a partition table or boot sector';
  return undefined;
}
