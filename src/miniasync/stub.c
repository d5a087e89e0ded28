/* placeholder until the miniasync sources land */
int miniasync_stub_;
