/* placeholder until this area's sources land */
int pmem2_memops_stub_;
