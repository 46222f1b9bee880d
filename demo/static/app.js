console.log("mod_gramex demo");
