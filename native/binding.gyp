{
  "targets": [
    {
      "target_name": "kiseki_native",
      "sources": ["crc32c.c"],
      "cflags": ["-O3", "-Wall", "-Wextra"]
    },
    {
      "target_name": "kiseki_ec",
      "sources": ["ec.c"],
      "cflags": ["-O3", "-Wall", "-Wextra"],
      "libraries": ["-ldl"]
    }
  ]
}
