/* placeholder until this area's sources land */
int pmem2_stub_;
