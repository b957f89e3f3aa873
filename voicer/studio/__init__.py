"""voicer studio: a local web page to hear a speech, fix its sentences and re-take them."""
