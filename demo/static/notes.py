print("not for the web")
