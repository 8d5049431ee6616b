"""mercato.web"""
