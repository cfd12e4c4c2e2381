# cmake -DOUT=file.cpp -DNAMESPACE=ns -DBASE=dir -DFILES=a,b -P embed_files.cmake
# Writes OUT: the bytes of each file (relative to BASE) as an array, and a table
# `const embedded_file kEmbeddedFiles[]` of {"/name", data, size}, ending with a null name
# (http/embedded_files.hpp declares it).
set(body "#include \"http/embedded_files.hpp\"\n\nnamespace ${NAMESPACE} {\nnamespace {\n")
set(table "")
set(i 0)
string(REPLACE "," ";" FILES "${FILES}")
foreach(name IN LISTS FILES)
  file(READ "${BASE}/${name}" hex HEX)
  string(LENGTH "${hex}" hex_len)
  math(EXPR size "${hex_len} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" bytes "${bytes}")
  string(APPEND body "const unsigned char file_${i}[] = {\n${bytes}0};\n")
  string(APPEND table "    {\"/${name}\", file_${i}, ${size}},\n")
  math(EXPR i "${i} + 1")
endforeach()
string(APPEND body "}  // namespace\n\nconst embedded_file kEmbeddedFiles[] = {\n${table}    {nullptr, nullptr, 0}};\n\n}  // namespace ${NAMESPACE}\n")
file(WRITE "${OUT}.tmp" "${body}")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUT}.tmp")
