"""`/favicon.ico`: browsers ask for it on every site, whatever the page's icon link says."""
